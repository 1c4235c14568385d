"""All of pagedesk's configuration, read from the environment in this one module.

Every variable is documented with its default in `.env.example`. Nothing else in the code base reads
`os.environ`; code that needs a setting imports it from `django.conf.settings`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if not raw:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in _env(name, default).split(",") if item.strip()]


DATA_DIR = Path(_env("PAGEDESK_DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_from_data_dir(filename: str, make: str) -> str:
    """Embedded mode keeps generated secrets in the data dir so restarts keep sessions and tokens."""
    path = DATA_DIR / filename
    if path.exists():
        return path.read_text().strip()
    value = make
    path.write_text(value)
    path.chmod(0o600)
    return value


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


DEBUG = _env_bool("PAGEDESK_DEBUG", False)
SECRET_KEY = _env("PAGEDESK_SECRET_KEY") or _secret_from_data_dir("secret_key", secrets.token_urlsafe(50))
TOKEN_KEY = _env("PAGEDESK_TOKEN_KEY") or _secret_from_data_dir("token_key", _fernet_key())
ALLOWED_HOSTS = _env_list("PAGEDESK_ALLOWED_HOSTS", "127.0.0.1,localhost")
PUBLIC_URL = _env("PAGEDESK_PUBLIC_URL").rstrip("/")
CSRF_TRUSTED_ORIGINS = _env_list("PAGEDESK_CSRF_TRUSTED_ORIGINS", "")
if PUBLIC_URL:
    parsed_public = urlparse(PUBLIC_URL)
    CSRF_TRUSTED_ORIGINS.append(f"{parsed_public.scheme}://{parsed_public.netloc}")
# Addresses (or CIDR ranges) of the reverse proxies in front of pagedesk. Only a request from one of them
# may name the client (X-Forwarded-For) and the scheme (X-Forwarded-Proto); empty = believe no one, so a
# client cannot pick the address the log-in lock-out and the logs see. `pagedesk serve` hands this to
# uvicorn, which resolves the client address once for everything downstream (REMOTE_ADDR).
TRUSTED_PROXIES = _env_list("PAGEDESK_TRUSTED_PROXIES", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "axes",
    # For the Swagger UI files it ships: the API docs page (pagedesk/api/docs.py) loads them from our own
    # static files (served by ServeStatic) instead of a CDN, so it works on a machine without internet.
    "ninja",
    "pagedesk.core",
    "pagedesk.accounts",
    "pagedesk.campaigns",
    "pagedesk.messenger",
    "pagedesk.platform",
    "pagedesk.conversations",
    "pagedesk.routing",
    "pagedesk.realtime",
    "pagedesk.inbox",
    "pagedesk.monitoring",
    "pagedesk.recordings",
    "pagedesk.api",
    "pagedesk.config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "pagedesk.core.middleware.MetricsMiddleware",
    "pagedesk.core.middleware.CleanQueryStringMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it must see the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pagedesk.config.urls"
ASGI_APPLICATION = "pagedesk.config.asgi.application"
WSGI_APPLICATION = None

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = _env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'pagedesk.sqlite3'}"
try:
    _db = dj_database_url.parse(DATABASE_URL)
except Exception as exc:  # dj-database-url raises several types for bad URLs
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None

if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy timeout instead of
        # one failing with "database is locked" when it upgrades a read lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": _env_int("PAGEDESK_SQLITE_TIMEOUT", 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    }
    # Per process, so two test runs in one checkout (a developer and a helper) never share a file.
    _db["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI, CONN_MAX_AGE leaks a connection per request context; the psycopg pool does not.
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": _env_int("PAGEDESK_DB_POOL_MIN", 2),
        "max_size": _env_int("PAGEDESK_DB_POOL_MAX", 16),
        "timeout": 10,
    }
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
else:
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels --------------------------------------------------------------------------------------
REDIS_URL = _env("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: 0.19 ms group_send → receive here against 0.98 ms for RedisChannelLayer.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": _env("PAGEDESK_REDIS_PREFIX", "pagedesk")},
        }
    }
else:
    # The project's subclass: its expiry sweep runs once a second, not on every receive (realtime/layers.py).
    CHANNEL_LAYERS = {"default": {"BACKEND": "pagedesk.realtime.layers.InMemoryChannelLayer"}}

# --- Background tasks ------------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "messenger", "routing", "timers", "webhooks"],
    }
}
# Queues with worker threads of their own, which the other worker threads leave alone: a webhook
# receiver that answers slowly (or not at all, for the 10 s timeout) must not hold up a customer's
# message (docs/decisions/outbound-webhooks.md). Threads per process (`serve` and `worker`).
ISOLATED_QUEUES = {"webhooks": _env_int("PAGEDESK_WEBHOOK_WORKER_THREADS", 2)}
# In embedded mode `pagedesk serve` runs the worker in the same process.
EMBEDDED_WORKER_THREADS = _env_int("PAGEDESK_WORKER_THREADS", 1)
# A task whose worker has not sent a heartbeat for this long is re-run or failed ("worker lost").
WORKER_LEASE_SECONDS = _env_int("PAGEDESK_WORKER_LEASE_SECONDS", 60)
if WORKER_LEASE_SECONDS < 2:
    raise ImproperlyConfigured("PAGEDESK_WORKER_LEASE_SECONDS must be at least 2")
# On SIGTERM/SIGINT `serve` and `worker` finish in-flight requests and running tasks for at most this
# long, then put back what still runs (docs/decisions/graceful-stop.md). Under systemd's stop timeout
# (TimeoutStopSec, which the units set to 30 s) with room to spare, or systemd kills the process first.
STOP_GRACE_SECONDS = _env_int("PAGEDESK_STOP_GRACE_SECONDS", 20)
if STOP_GRACE_SECONDS < 0:
    raise ImproperlyConfigured("PAGEDESK_STOP_GRACE_SECONDS must be 0 or more")

# --- Auth ------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = _env_int("PAGEDESK_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = _env_int("PAGEDESK_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
# The username alone: keyed on username + address, an attacker who can change his address (a botnet, a
# proxy pool, or a spoofed X-Forwarded-For) gets a fresh allowance per address. The price is that anyone
# can lock a known username out for the cool-off; an administrator lifts it sooner (Users › Unlock).
AXES_LOCKOUT_PARAMETERS = ["username"]
# The server already resolved the client address into REMOTE_ADDR from the trusted proxies only; axes must
# not read forwarding headers itself (it would with django-ipware installed).
AXES_CLIENT_IP_CALLABLE = "pagedesk.core.http.client_ip_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "pagedesk.accounts.views.locked_out_view"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
HTTPS = PUBLIC_URL.startswith("https://")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# With an https public address browsers are sent there and told to stay (HSTS). Health and metrics
# endpoints are left on plain http: load balancers and Prometheus probe them from inside.
SECURE_SSL_REDIRECT = _env_bool("PAGEDESK_HTTPS_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = _env_int("PAGEDESK_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("PAGEDESK_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("PAGEDESK_HSTS_PRELOAD", False)
# axes.W006 wants the address among the lock-out keys so rotating user agents or cookies cannot dodge
# it; keyed on the username alone nothing but the username can be rotated (see AXES_LOCKOUT_PARAMETERS).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
if not SECURE_HSTS_PRELOAD:
    # Preloading is a promise to browser vendors about the whole domain, which is the operator's to make
    # (hstspreload.org), not a default of one application on it.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
if TRUSTED_PROXIES:
    # The proxy terminates TLS and says so in X-Forwarded-Proto; it must overwrite the header, since
    # Django believes it on every request (uvicorn only believes it from TRUSTED_PROXIES).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# "Activate with Facebook" runs in a pop-up that visits facebook.com and comes back to report success to
# its opener; Django's default COOP "same-origin" would cut that link. The pop-up's own pages answer
# "unsafe-none" (messenger.activation_views); every other page still isolates itself from other origins.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin-allow-popups"

# --- i18n ------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static and uploads ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads and downloaded attachments live outside the static root and are served by views that check
# permission and set Content-Disposition; there is deliberately no MEDIA_URL route.
MEDIA_ROOT = DATA_DIR / "media"
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = DEBUG

# --- Facebook --------------------------------------------------------------------------------------
FACEBOOK_APP_ID = _env("FACEBOOK_APP_ID")
FACEBOOK_APP_SECRET = _env("FACEBOOK_APP_SECRET")
FACEBOOK_VERIFY_TOKEN = _env("FACEBOOK_VERIFY_TOKEN")
FACEBOOK_GRAPH_URL = _env("FACEBOOK_GRAPH_URL", "https://graph.facebook.com").rstrip("/")
FACEBOOK_DIALOG_URL = _env("FACEBOOK_DIALOG_URL", "https://www.facebook.com").rstrip("/")
FACEBOOK_GRAPH_VERSION = _env("FACEBOOK_GRAPH_VERSION", "v25.0")
FACEBOOK_SEND_RATE_PER_SECOND = _env_int("FACEBOOK_SEND_RATE_PER_SECOND", 40)
# How often every connected page token is checked with /debug_token (seconds).
TOKEN_CHECK_SECONDS = _env_int("PAGEDESK_TOKEN_CHECK_SECONDS", 600)
SIMULATOR_URL = _env("PAGEDESK_SIMULATOR_URL", "http://127.0.0.1:8100").rstrip("/")


# --- Content-Security-Policy ------------------------------------------------------------------------
def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


# Content-Security-Policy (django-csp) on every Django response: scripts and styles only from our own
# static files, no inline code, so injected markup cannot run. Pages keep behaviour in static JS
# (data- attributes) and looks in pagedesk/core/static/pagedesk/app.css; htmx's own indicator <style> is
# off (base.html's htmx-config). Contact pictures come from Facebook's CDN (any https host) or from the
# Graph URL's host (the simulator in a demo). connect-src 'self' covers the same-origin websocket.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:", _origin(FACEBOOK_GRAPH_URL)],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Outbound webhooks ----------------------------------------------------------------------------
# Receivers on loopback, private or link-local addresses are refused unless this is on (a closed
# network, the demo, tests): otherwise a webhook URL could make pagedesk probe its own network.
WEBHOOKS_ALLOW_PRIVATE = _env_bool("PAGEDESK_WEBHOOKS_ALLOW_PRIVATE", False)

# --- Routing ---------------------------------------------------------------------------------------
AGENT_DISCONNECT_GRACE_SECONDS = _env_int("PAGEDESK_AGENT_DISCONNECT_GRACE_SECONDS", 120)

# --- Logging ---------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _env("PAGEDESK_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # One INFO line per task run drowns the console in embedded mode; failures still log.
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        # httpx logs every request URL at INFO, and Graph calls carry access tokens in the query string.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50

# --- Metrics ---------------------------------------------------------------------------------------
# Set: /metrics answers only requests carrying "Authorization: Bearer <token>". Unset: only scrapes
# from this machine (a loopback socket peer, not forwarded by a proxy).
METRICS_TOKEN = _env("PAGEDESK_METRICS_TOKEN")
