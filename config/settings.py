"""Settings, every deploy-time value read from the environment (django-environ).

The defaults are the embedded development setup: SQLite under var/, Celery tasks run in
process, e-mail written to files under var/mail/.
"""

from pathlib import Path

import environ
import structlog
from django.core.exceptions import ImproperlyConfigured

from config.logs import request_id_of_record

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)
DEV_SECRET_KEY = "dev-only-not-secret-convertible-note-servicing"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "django_celery_beat",
    "django_tables2",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    "django_structlog",
    "holders",
    "notes",
    "servicing",
]

MIDDLEWARE = [
    # Request counts and times for /metrics (per process); its pair is the last middleware.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Each request's log lines carry its request_id and user_id: after the user is known, and before
    # LoginRequiredMiddleware, so an anonymous request sent to the login is logged with its id too.
    "django_structlog.middlewares.RequestMiddleware",
    # Every page needs a logged-in user, unless its view says otherwise (only the login page does).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # django-prometheus' PrometheusAfterMiddleware, with its method labels bounded.
    "servicing.metrics.RequestMetricsMiddleware",
]
# servicing.auth.Backend: Django's, except that the system approver of `simulate` and the demo never logs in.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "servicing.auth.Backend"]
# Failed logins are throttled: after 5 failures for a user name from one address, it is locked for an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Failures are counted by the client's address: behind the proxy, the one it appends to X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "servicing.client_ip.client_ip"
# The proxies whose X-Forwarded-For is believed: the TLS proxy on this machine, by default.
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=["127.0.0.1", "::1"])
# Every failed login is also kept (up to 1,000 per user name): /metrics counts them.
AXES_ENABLE_ACCESS_FAILURE_LOG = True

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "servicing.context.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers (a web request and an in-process task) wait for each other instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # The ledger's month-totals index carries kind and amount for PostgreSQL's index-only scans;
    # SQLite keeps the index without them, which is all it needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiling costs more than the pages' short queries take (issue 11: 469 of 472 ms).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# An upload's files are kept only up to the largest exhibit (and one byte more, to refuse it as too large).
FILE_UPLOAD_HANDLERS = [
    "servicing.uploads.BoundedUpload",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

EMAIL_CONFIG = env.email_url("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    EMAIL_FILE_PATH = EMAIL_CONFIG.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
# Seconds an SMTP connection may wait for the server (connect, each reply): a server that accepts
# and never answers fails the e-mail (retried later) instead of holding a worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="servicing@localhost")
# Who receives the reminders (interest coming due, past due, maturities, windows, deadlines) and
# the alerts (a job run that failed, a statement given up).
STAFF_EMAILS = env.list("STAFF_EMAILS", default=["servicing@localhost"])
# The site's address as staff reach it, for links in e-mails to them.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# A statement e-mail that fails is retried after 5, 10, 20… minutes, then given up and left visible.
STATEMENT_MAX_ATTEMPTS = env.int("STATEMENT_MAX_ATTEMPTS", default=5)
STATEMENT_RETRY_SECONDS = env.int("STATEMENT_RETRY_SECONDS", default=300)
# A delivery claimed by a worker that died is taken up again after this long.
STATEMENT_CLAIM_SECONDS = env.int("STATEMENT_CLAIM_SECONDS", default=600)
# The statement e-mail's sender (with a name) and where a holder's reply goes.
STATEMENT_FROM_EMAIL = env.str("STATEMENT_FROM_EMAIL", default="Demo Note Servicing <servicing@example.com>")
STATEMENT_REPLY_TO = env.str("STATEMENT_REPLY_TO", default="servicing@example.com")
# Who the servicer is, printed on every statement and in its e-mail: the demo defaults are
# placeholders (example.com, a 555-01xx number) to be replaced by the servicer's own.
SERVICER_NAME = env.str("SERVICER_NAME", default="Demo Note Servicing (example only)")
SERVICER_ADDRESS = env.str("SERVICER_ADDRESS", default="100 Example Street, Suite 1\nAnytown, ST 00000", multiline=True)
SERVICER_PHONE = env.str("SERVICER_PHONE", default="+1 555 0100")
SERVICER_EMAIL = env.str("SERVICER_EMAIL", default="servicing@example.com")
SERVICER_PAYMENT_INSTRUCTIONS = env.str(
    "SERVICER_PAYMENT_INSTRUCTIONS",
    default="Example only: the company pays by wire to the servicer's account (details from the servicer), "
    "quoting the note number.",
)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"

# Celery: with no broker configured, tasks run in process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# django-celery-beat's database scheduler, creating missing schedules and keeping edited ones.
CELERY_BEAT_SCHEDULER = "servicing.beat:OneBeatScheduler"  # kept schedules, one beat at a time
# A task is acknowledged when done, so a worker that dies mid-task leaves it to be run again;
# every task is safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Time limits, in seconds, so no task holds a worker for ever: at the soft limit (a tenth before
# the hard one) the task is told (SoftTimeLimitExceeded) and stops cleanly; at the hard limit its
# process is killed and replaced. The close's fits its size (2,000 notes close in minutes); keep it
# below CELERY_VISIBILITY_TIMEOUT, or Redis hands a close still running to a second worker.
TASK_TIME_LIMIT = env.int("TASK_TIME_LIMIT", default=600)  # every task without its own
CLOSE_TIME_LIMIT = env.int("CLOSE_TIME_LIMIT", default=3300)  # the close
STATEMENT_TIME_LIMIT = env.int("STATEMENT_TIME_LIMIT", default=180)  # one statement: its PDF and e-mail
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = TASK_TIME_LIMIT - max(TASK_TIME_LIMIT // 10, 1)
# /health/ fails when the latest finished close is older than this (the close runs daily at 00:30).
HEALTH_CLOSE_MAX_AGE_HOURS = env.int("HEALTH_CLOSE_MAX_AGE_HOURS", default=36)
# A job run's worker renews its heartbeat this often (seconds); a run whose heartbeat is older than
# JOB_STALE_SECONDS is dead: marked abandoned and its job queued again (servicing.jobruns).
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=30)
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=120)
if not 0 < JOB_HEARTBEAT_SECONDS < JOB_STALE_SECONDS:
    raise ImproperlyConfigured("JOB_STALE_SECONDS must be more than JOB_HEARTBEAT_SECONDS, which must be more than 0")

# A login lasts a working day (seconds), and ends when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=9 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Every page may load only the site's own scripts, styles, images and fonts; nothing inline, no
# frames from elsewhere, forms post only here. (A document preview narrows it further: sandboxed.)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # The one inline style of django-simple-history's history list ("border-top: 0"), by its hash.
        "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}
# History is read, never reverted from: a change goes through its form and service (rules, four-eyes).
SIMPLE_HISTORY_REVERT_DISABLED = True

# With DEBUG off the site is served over https only, behind a TLS proxy that sets X-Forwarded-Proto
# (SECURE_PROXY_SSL_HEADER): plain-HTTP requests are redirected, cookies go over https only, and
# browsers are told (HSTS) to use https for a year.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A monitor may poll /health/ over plain HTTP on the machine itself, past the proxy.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics/?$"]
# /metrics (Prometheus) answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Logs: `json` writes every line (Django's, Celery's, the app's) as one JSON object, for a log
# collector; `plain` as readable text. Both carry the bound context: request_id, task_id, job_run_id.
LOG_FORMATS = ("json", "plain")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {LOG_FORMAT[:20]!r}")
# What a line of a stdlib logger (logging.getLogger) gets before it is written: the context bound
# with structlog (request, task, job run), its level, logger name and time.
LOG_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    request_id_of_record,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
]
# django-structlog's own loggers (structlog.get_logger) go through the stdlib handlers below.
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.UnicodeDecoder(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
# Celery tasks' lines carry their task_id, and the request_id of the request that queued them.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# A request's `ip` is bound by config.logs (the address the login throttle counts), not by
# django-structlog, which would take the first X-Forwarded-For entry: the client's own words.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            "foreign_pre_chain": LOG_PRE_CHAIN,
        },
        "plain": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.dev.ConsoleRenderer(colors=False),
            ],
            "foreign_pre_chain": LOG_PRE_CHAIN,
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
        # `simulate` answers on the terminal with one `error:` line; what its last-resort net
        # catches (a bug) is written here with its traceback.
        "simulate": {"class": "logging.FileHandler", "filename": VAR_DIR / "simulate.log", "delay": True},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "servicing.simulate": {"handlers": ["simulate"], "level": "ERROR", "propagate": False},
        # WeasyPrint logs every layout step (and fontTools every font it subsets) at INFO and DEBUG:
        # only its warnings (a missing image or font) reach the log.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # Django's lines (runserver's request lines too) reach the console once, through the root's
        # handler in LOG_FORMAT with their request_id, not also through Django's own console copy.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
