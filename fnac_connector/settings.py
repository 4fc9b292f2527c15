"""Settings, read from the environment (and an optional .env file beside manage.py).

``DJANGO_ENV=production`` switches on the hardened mode that passes ``manage.py check --deploy``.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env("DJANGO_ENV", default="development") == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)

_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env("DJANGO_SECRET_KEY") if PRODUCTION else env("DJANGO_SECRET_KEY", default=_DEV_SECRET)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Fernet key(s) for marketplace secrets at rest. Comma-separated: the first encrypts, all decrypt
# (key rotation). Outside production a fixed development key is used when none is set, with a warning.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY", default=[])

INSTALLED_APPS = [
    "unfold",  # the admin theme (seller console); must come before django.contrib.admin
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "accounts",
    "stores",
    "catalogue",
    "orders",
    "inventory",
    "fulfilment",
    "claims",
    "pricing",
    "inbox",
    "console",
]

# The sandbox marketplace (fnac_sandbox/: `manage.py run_sandbox`, the wire tests, `make demo`) is a development,
# test and demo tool: it is installed outside production only. SANDBOX_ENABLED overrides (e.g. a staging host
# that runs the emulator); no product code imports it.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=not PRODUCTION)
if SANDBOX_ENABLED:
    INSTALLED_APPS.append("fnac_sandbox")

# The carrier adapter a new store gets when none is chosen: the loopback sandbox carrier outside production,
# none in production (a store without one refuses to ship until one is chosen on the store page).
DEFAULT_CARRIER_ADAPTER = env("DEFAULT_CARRIER_ADAPTER", default="" if PRODUCTION else "sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from the app server (issue 14); after security
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # login throttling; stays last (django-axes)
]

ROOT_URLCONF = "fnac_connector.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "fnac_connector.wsgi.application"

# ---------------------------------------------------------------- the seller console (django-unfold)
UNFOLD = {
    "SITE_TITLE": "FNAC connector",
    "SITE_HEADER": "FNAC connector",
    "SITE_SUBHEADER": "Seller console",
    "SITE_SYMBOL": "storefront",
    "SITE_URL": "/admin/",
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_HISTORY": True,
    "DASHBOARD_CALLBACK": "console.dashboard.dashboard_callback",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": "console.navigation.superuser",
        "navigation": "console.navigation.sidebar",
    },
}

# ---------------------------------------------------------------- database
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the django-q cluster read while one writes; IMMEDIATE transactions
    # take the write lock up front so two writers queue (busy timeout) instead of failing mid-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
# "counters": what must hold across processes (the bad API token count per client address,
# fnac_connector/authentication.py): Redis when there is one, else a table in the database (created by migration
# accounts/0003), never a per-process memory that each gunicorn worker would count on its own
COUNTERS_CACHE_TABLE = "fnac_counters_cache"
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
              "counters": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                           "KEY_PREFIX": "counters"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
              "counters": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                           "LOCATION": COUNTERS_CACHE_TABLE}}

# ---------------------------------------------------------------- django-q2
# retry must stay well above timeout, or a long task is delivered twice (tasks are idempotent anyway).
Q_CLUSTER = {
    "name": "fnac_connector",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=900),
    "retry": env.int("Q_RETRY", default=1800),
    "max_attempts": 3,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "save_limit": 500,
    "poll": 0.2,
    "label": "Django Q",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Tests and one-off commands may run tasks inline instead of through the cluster.
Q_SYNC = env.bool("Q_SYNC", default=False)
if Q_SYNC:
    Q_CLUSTER["sync"] = True

# ---------------------------------------------------------------- auth, i18n, static
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
LOGIN_URL = "admin:login"
FORMS_URLFIELD_ASSUME_HTTPS = True

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "fnac_connector.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # staff only, and the Django model permissions of each view (fnac_connector/permissions.py, issue 9)
    "DEFAULT_PERMISSION_CLASSES": ["fnac_connector.permissions.StaffModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "fnac_connector.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "fnac_connector.schema.AutoSchema",  # declares the error answers (issue 9)
    "EXCEPTION_HANDLER": "fnac_connector.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "fnac-connector API",
    "DESCRIPTION": "OMS / WMS API of the FNAC Darty marketplace connector.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # several models have "status"/"state"/"kind" choices: name each enum after its model
    "ENUM_NAME_OVERRIDES": {
        "StoreStatusEnum": "stores.models.Store.Status",
        "OrderStatusEnum": "orders.models.OrderStatus",
        "SyncRunStateEnum": "stores.models.SyncRun.State",
        "SyncRunKindEnum": "stores.models.SyncRun.Kind",
        "ListingJobKindEnum": "catalogue.models.ListingJob.Kind",
        "ProductUploadStateEnum": "catalogue.models.ProductUpload.State",
        "ShipmentStateEnum": "fulfilment.models.Shipment.State",
        "WmsEventKindEnum": "fulfilment.models.WmsEvent.Kind",
        "InboxSendStateEnum": "inbox.models.SendState",
        "WmsDeliveryKindEnum": "fulfilment.models.WmsDelivery.Kind",
        "WmsDeliveryStateEnum": "fulfilment.models.WmsDelivery.State",
        "StockMovementKindEnum": "inventory.models.StockMovement.Kind",
        "TrackingStatusEnum": "fulfilment.models.TrackingStatus",
        "RepricingBoundEnum": "pricing.models.RepricingRule.Bound",
    },
}

# ---------------------------------------------------------------- marketplace
FNAC_DEFAULT_URL = env("FNAC_DEFAULT_URL", default="https://vendeur.fnac.com/api.php/")
MIRAKL_DEFAULT_URL = env("MIRAKL_DEFAULT_URL", default="https://fnac-prod.mirakl.net")
MARKETPLACE_TIMEOUT = (env.float("MARKETPLACE_CONNECT_TIMEOUT", default=5.0),
                       env.float("MARKETPLACE_READ_TIMEOUT", default=60.0))
MARKETPLACE_MAX_RETRIES = env.int("MARKETPLACE_MAX_RETRIES", default=4)
SANDBOX_URL = env("SANDBOX_URL", default="http://127.0.0.1:8100")

# ---------------------------------------------------------------- where keys may go (issue 9, stores/endpoints.py)
# A store's FNAC, Mirakl and WMS URLs may only point at FNAC's hosts, *.mirakl.net and (WMS) public https hosts,
# plus these extra hosts (``host`` or ``host:port``, comma-separated; http allowed for them). Outside production
# the default is the loopback sandbox of `make demo`; production allows none unless told.
MARKETPLACE_EXTRA_HOSTS = env.list("MARKETPLACE_EXTRA_HOSTS",
                                   default=[] if PRODUCTION else ["127.0.0.1", "localhost", "::1"])

# ---------------------------------------------------------------- fulfilment / WMS
# Base of the signed label links sent to the WMS (the address the WMS can reach this server at).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://localhost:8000")
WMS_TIMEOUT = (env.float("WMS_CONNECT_TIMEOUT", default=3.0), env.float("WMS_READ_TIMEOUT", default=10.0))
WMS_RETRY_BASE_SECONDS = env.int("WMS_RETRY_BASE_SECONDS", default=30)
WMS_RETRY_MAX_SECONDS = env.int("WMS_RETRY_MAX_SECONDS", default=3600)
WMS_SIGNATURE_TOLERANCE_SECONDS = env.int("WMS_SIGNATURE_TOLERANCE_SECONDS", default=300)
WMS_LABEL_LINK_DAYS = env.int("WMS_LABEL_LINK_DAYS", default=30)
FULFILMENT_DEFAULT_WEIGHT_KG = env("FULFILMENT_DEFAULT_WEIGHT_KG", default="0.5")
# Parcel tracking (issue 13, fulfilment/tracking.py): a periodic run per store asks the carriers about the parcels
# FNAC confirmed, at most MAX_PER_RUN a run, oldest-checked first, a parcel not again within RECHECK_MINUTES, with a
# pause between carrier calls; parcels confirmed more than MAX_AGE_DAYS ago are no longer asked about.
FULFILMENT_TRACKING_INTERVAL_MINUTES = env.int("FULFILMENT_TRACKING_INTERVAL_MINUTES", default=60)
FULFILMENT_TRACKING_MAX_PER_RUN = env.int("FULFILMENT_TRACKING_MAX_PER_RUN", default=500)
FULFILMENT_TRACKING_RECHECK_MINUTES = env.int("FULFILMENT_TRACKING_RECHECK_MINUTES", default=30)
FULFILMENT_TRACKING_PAUSE_SECONDS = env.float("FULFILMENT_TRACKING_PAUSE_SECONDS", default=1.0)
FULFILMENT_TRACKING_MAX_AGE_DAYS = env.int("FULFILMENT_TRACKING_MAX_AGE_DAYS", default=45)
# The sandbox carrier's simulated parcels move this many times faster than real time (the demo sets 60: delivered
# in about 35 minutes instead of a day and a half).
SANDBOX_CARRIER_TRACKING_SPEED = env.float("SANDBOX_CARRIER_TRACKING_SPEED", default=1.0)

# ---------------------------------------------------------------- limits: answers, uploads, input (issue 9)
# No answer or file may take the server down: a marketplace answer is read up to a size cap, a paged listing
# up to a page cap (the run then fails, naming the cap, and keeps what it committed), and an uploaded
# spreadsheet is measured before it is parsed (see README, "Limits").
MARKETPLACE_MAX_RESPONSE_MB = env.float("MARKETPLACE_MAX_RESPONSE_MB", default=64.0)
MARKETPLACE_MAX_PAGES = env.int("MARKETPLACE_MAX_PAGES", default=2000)
UPLOAD_MAX_FILE_MB = env.float("UPLOAD_MAX_FILE_MB", default=20.0)
UPLOAD_MAX_UNCOMPRESSED_MB = env.float("UPLOAD_MAX_UNCOMPRESSED_MB", default=200.0)
UPLOAD_MAX_MEMBER_MB = env.float("UPLOAD_MAX_MEMBER_MB", default=150.0)
UPLOAD_MAX_COMPRESSION_RATIO = env.float("UPLOAD_MAX_COMPRESSION_RATIO", default=100.0)
UPLOAD_MAX_CELL_CHARS = env.int("UPLOAD_MAX_CELL_CHARS", default=32767)
UPLOAD_MAX_ROWS = env.int("UPLOAD_MAX_ROWS", default=50_000)

# ---------------------------------------------------------------- API tokens, login throttling (issue 9)
# API tokens (django-rest-knox) are stored as SHA-512 digests with an expiry; the raw key is shown once by
# `manage.py api_token create`. Clients keep sending `Authorization: Token <key>`.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
REST_KNOX = {"TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS), "AUTH_HEADER_PREFIX": "Token", "AUTO_REFRESH": False}
# A client address whose bad tokens reach the limit within the window gets 429 + Retry-After on every token
# request until the window ends. Counted in the cache: set REDIS_URL when several processes serve the API.
API_TOKEN_FAILURE_LIMIT = env.int("API_TOKEN_FAILURE_LIMIT", default=10)
API_TOKEN_FAILURE_WINDOW_SECONDS = env.int("API_TOKEN_FAILURE_WINDOW_SECONDS", default=300)
# Behind N reverse proxies, the client address is the N-th X-Forwarded-For entry from the right; 0 = REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Admin sign-in (django-axes): LOGIN_FAILURE_LIMIT failures for one username from one address lock that pair
# for LOGIN_COOLOFF_MINUTES; a success resets the count. Superusers unlock early in the admin (Axes).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "fnac_connector.authentication.client_ip"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

# ---------------------------------------------------------------- leases, heartbeats, reconciliation (issue 9)
# A killed worker must not block a store: store locks and the stock push's claimed outbox rows are short leases
# renewed by a heartbeat thread every third of their TTL while the holder lives, so a dead holder's lease lapses
# within one TTL. A running sync run whose heartbeat is older than SYNC_RUN_STALE_SECONDS is closed as failed
# ("worker died") by the global job `global:runs_mark_stale`, every SYNC_STALE_CHECK_MINUTES.
SYNC_LOCK_TTL_SECONDS = env.float("SYNC_LOCK_TTL_SECONDS", default=60)
INVENTORY_PUSH_LEASE_SECONDS = env.float("INVENTORY_PUSH_LEASE_SECONDS", default=60)
SYNC_RUN_STALE_SECONDS = env.float("SYNC_RUN_STALE_SECONDS", default=180)
SYNC_STALE_CHECK_MINUTES = env.int("SYNC_STALE_CHECK_MINUTES", default=2)
# Offers reconciliation (inventory/reconcile.py): every INVENTORY_RECONCILE_MINUTES per store, the offers FNAC
# modified since the last pass (minus the overlap) are compared with what was pushed; every offer once per
# INVENTORY_RECONCILE_FULL_HOURS.
INVENTORY_RECONCILE_MINUTES = env.int("INVENTORY_RECONCILE_MINUTES", default=15)
INVENTORY_RECONCILE_OVERLAP_SECONDS = env.int("INVENTORY_RECONCILE_OVERLAP_SECONDS", default=600)
INVENTORY_RECONCILE_FULL_HOURS = env.float("INVENTORY_RECONCILE_FULL_HOURS", default=24)
# Pipelined stock push (issue 14, inventory/follow.py): at most INVENTORY_PUSH_MAX_IN_FLIGHT offers_update batches
# per store that FNAC has not answered yet; a batch not final after INVENTORY_BATCH_FOLLOW_SECONDS is given up as
# unknown (its SKUs sent again); the follow-up ticker looks for due batches every INVENTORY_FOLLOW_TICK_SECONDS.
INVENTORY_PUSH_MAX_IN_FLIGHT = env.int("INVENTORY_PUSH_MAX_IN_FLIGHT", default=20)
INVENTORY_BATCH_FOLLOW_SECONDS = env.float("INVENTORY_BATCH_FOLLOW_SECONDS", default=900)
INVENTORY_FOLLOW_TICK_SECONDS = env.float("INVENTORY_FOLLOW_TICK_SECONDS", default=1.0)
# Changes arriving in bulk travel together (inventory/push.py, _burst_hold): more than BURST_THRESHOLD changes in
# BURST_WINDOW seconds (or more than BURST_SPRAY_MIN right after a call) are held while they keep coming, until
# none came for BURST_QUIET seconds or the oldest is BURST_WINDOW old; a single change is never held.
INVENTORY_PUSH_BURST_THRESHOLD = env.int("INVENTORY_PUSH_BURST_THRESHOLD", default=100)
INVENTORY_PUSH_BURST_WINDOW_SECONDS = env.float("INVENTORY_PUSH_BURST_WINDOW_SECONDS", default=15)
INVENTORY_PUSH_BURST_QUIET_SECONDS = env.float("INVENTORY_PUSH_BURST_QUIET_SECONDS", default=2)
INVENTORY_PUSH_BURST_SPRAY_MIN = env.int("INVENTORY_PUSH_BURST_SPRAY_MIN", default=2)

# ---------------------------------------------------------------- logging (secrets never logged)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "fnac_connector.logfilters.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# ---------------------------------------------------------------- production serving (issue 14)
# whitenoise serves /static/ from the app server (gunicorn): in production from STATIC_ROOT, filled by
# `collectstatic` (`make serve` runs it), with content-hashed, compressed files cached for ever; outside production
# straight from the apps (no collectstatic needed for runserver and the tests).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if PRODUCTION
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# /health/ (fnac_connector/health.py) is unhealthy when a connected store's last successful order import is older
# than this (the import runs every few minutes).
if not PRODUCTION:
    # outside production whitenoise finds the files in the apps; an absent STATIC_ROOT is expected there
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
HEALTH_ORDER_SYNC_STALE_MINUTES = env.int("HEALTH_ORDER_SYNC_STALE_MINUTES", default=30)

if PRODUCTION:
    # a load balancer probes /health/ over plain HTTP inside the network: no redirect to https for it
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# ---------------------------------------------------------------- competitive pricing (issue 16, pricing/)
# pricing_query is read 10 products per call, one call every PRICING_WATCH_PACING_SECONDS at most; each store's
# live products are all read once per PRICING_WATCH_INTERVAL_HOURS, spread over ticks of PRICING_WATCH_TICK_MINUTES
# (products changed in the last hour first). After a 429/503 the watch waits PRICING_BACKOFF_SECONDS (doubling,
# or FNAC's Retry-After when longer), at most PRICING_MAX_BACKOFFS times in a row, then leaves the rest to the next
# tick. An EAN FNAC refuses is asked again only after PRICING_INVALID_RETRY_DAYS.
PRICING_WATCH_PACING_SECONDS = env.float("PRICING_WATCH_PACING_SECONDS", default=1.0)
PRICING_WATCH_INTERVAL_HOURS = env.float("PRICING_WATCH_INTERVAL_HOURS", default=6)
PRICING_WATCH_TICK_MINUTES = env.int("PRICING_WATCH_TICK_MINUTES", default=15)
PRICING_BACKOFF_SECONDS = env.float("PRICING_BACKOFF_SECONDS", default=30)
PRICING_MAX_BACKOFFS = env.int("PRICING_MAX_BACKOFFS", default=4)
PRICING_INVALID_RETRY_DAYS = env.float("PRICING_INVALID_RETRY_DAYS", default=7)
PRICING_HISTORY_POINTS = env.int("PRICING_HISTORY_POINTS", default=60)
