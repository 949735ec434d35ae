"""Horizon's settings for a run against nimbus (scripts/horizon.sh).

scripts/horizon.sh copies this file to openstack_dashboard/local/local_settings.py
in Horizon's own virtualenv, the place Horizon reads it from. Where nimbus is
and where Horizon keeps its files come from the environment the script sets.
No memcached: sessions live in Django's local-memory cache, which is enough for
the one `runserver` process (started with --noreload so there is only one).
"""

import os

_RUN_DIR = os.environ.get("NIMBUS_HORIZON_RUN_DIR", "/tmp/nimbus-horizon/horizon")

DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
WEBROOT = "/"
SECRET_KEY = os.environ.get("NIMBUS_HORIZON_SECRET_KEY", "nimbus-horizon-not-secret")

OPENSTACK_HOST = "127.0.0.1"
OPENSTACK_KEYSTONE_URL = os.environ["NIMBUS_HORIZON_KEYSTONE_URL"]
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT = False
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = "Default"
OPENSTACK_ENDPOINT_TYPE = "publicURL"
OPENSTACK_SSL_NO_VERIFY = True

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

STATIC_ROOT = os.path.join(_RUN_DIR, "static")
COMPRESS_ROOT = STATIC_ROOT
COMPRESS_OFFLINE = False
COMPRESS_ENABLED = False

TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "horizon": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "openstack_dashboard": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "openstack_auth": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "keystoneauth": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "novaclient": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "cinderclient": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "glanceclient": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "keystoneclient": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "openstack": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# nimbus's Nova stops at microversion 2.30; a boot onto a new volume from
# Horizon sends the volume's type, which novaclient refuses below 2.67. So the
# Launch Instance wizard boots from the image unless the person asks otherwise.
LAUNCH_INSTANCE_DEFAULTS = {"create_volume": False}
