import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fnac_connector.settings")
application = get_wsgi_application()

# Load every URLconf (and with it every admin and API module) now rather than on the first request, then put the
# ~180,000 objects start-up made out of the garbage collector's reach: a full collection walks every tracked object,
# and without this one request in ten or twenty paid ~100 ms for it (bench/lists.py, issue 14). Each gunicorn
# worker runs this once, when it loads the application.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
