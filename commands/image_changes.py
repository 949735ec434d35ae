"""Image commands past create, upload and delete: a PATCH, tags,
deactivation and members (the rest of Glance v2's image API).

Each is one decision of the domain on the image aggregate
(domain.image_patch, domain.image_changes, domain.image_members) under the
shared write path: an image the caller cannot see is 404, a refusal writes
nothing, and a request that changes nothing writes nothing either (its
answer's position is None).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from commands.application import Aggregate, Change, NimbusApplication, Written
from commands.images import parse_id
from commands.messages import Caller
from domain import image as model
from domain import image_changes, image_members, image_patch
from domain.base import Event
from domain.image import ImageState
from domain.registry import IMAGE

Decision = Callable[[ImageState, str, datetime], Event | None]


class ImageChangeCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def _change(self, image_id: str, caller: Caller, request_id: str,
                decision: Decision) -> Written[ImageState]:
        def decide(image: Aggregate[ImageState], at: datetime) -> list[Change]:
            state = model.existing(image.current, image_id, caller.project_id,
                                   caller.is_admin)
            return [(image, decision(state, request_id, at))]

        return self.app.execute(
            request_id, lambda: self.app.load_or_new(parse_id(image_id), IMAGE), decide)

    def update(self, image_id: str, operations: list[image_patch.Operation], caller: Caller,
               request_id: str) -> Written[ImageState]:
        return self._change(image_id, caller, request_id, lambda s, r, at: image_patch.update(
            s, operations, request_id=r, at=at, project_id=caller.project_id,
            is_admin=caller.is_admin))

    def add_tag(self, image_id: str, tag: str, caller: Caller,
                request_id: str) -> Written[ImageState]:
        return self._change(image_id, caller, request_id, lambda s, r, at: image_changes.add_tag(
            s, tag, request_id=r, at=at, project_id=caller.project_id,
            is_admin=caller.is_admin))

    def remove_tag(self, image_id: str, tag: str, caller: Caller,
                   request_id: str) -> Written[ImageState]:
        return self._change(
            image_id, caller, request_id, lambda s, r, at: image_changes.remove_tag(
                s, tag, request_id=r, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin))

    def deactivate(self, image_id: str, caller: Caller, request_id: str) -> Written[ImageState]:
        return self._change(
            image_id, caller, request_id, lambda s, r, at: image_changes.deactivate(
                s, request_id=r, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin))

    def reactivate(self, image_id: str, caller: Caller, request_id: str) -> Written[ImageState]:
        return self._change(
            image_id, caller, request_id, lambda s, r, at: image_changes.reactivate(
                s, request_id=r, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin))

    def add_member(self, image_id: str, member_id: str, caller: Caller,
                   request_id: str) -> Written[ImageState]:
        return self._change(
            image_id, caller, request_id, lambda s, r, at: image_members.add_member(
                s, member_id, request_id=r, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin))

    def change_member(self, image_id: str, member_id: str, status: str, caller: Caller,
                      request_id: str) -> Written[ImageState]:
        return self._change(
            image_id, caller, request_id, lambda s, r, at: image_members.change_status(
                s, member_id, status, request_id=r, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin))

    def remove_member(self, image_id: str, member_id: str, caller: Caller,
                      request_id: str) -> Written[ImageState]:
        return self._change(
            image_id, caller, request_id, lambda s, r, at: image_members.remove_member(
                s, member_id, request_id=r, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin))
