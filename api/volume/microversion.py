"""Block-storage API microversions (api/microversion.py ``Service``): a
``/volume/v3`` request names ``OpenStack-API-Version: volume 3.Y`` (or
``latest``); none means 3.0, as in Cinder. Every answer of a ``/volume/v3``
path, errors and refusals included, names the version (tempest checks it).

MAX is the highest version whose every change to the resources nimbus serves
is honoured: 3.0 until a later step's changes are served.
"""

from __future__ import annotations

from api.microversion import Service

VOLUME = Service("volume", (3, 0), (3, 0), "/volume/v3", name_refusals=True)
MIN, MAX, PREFIX = VOLUME.minimum, VOLUME.maximum, VOLUME.prefix
parse, requested, at_least, headers = (VOLUME.parse, VOLUME.requested, VOLUME.at_least,
                                       VOLUME.headers)
