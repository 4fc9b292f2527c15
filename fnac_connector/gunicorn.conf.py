"""gunicorn settings for `make serve` and the Procfile's web process (issue 14); each one can be overridden
from the environment: BIND (or PORT), WEB_CONCURRENCY, WEB_THREADS, WEB_TIMEOUT, FORWARDED_ALLOW_IPS."""

import os

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# the slowest page is a spreadsheet upload's validation or a label print; marketplace calls run in the cluster
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
# the proxy in front sets X-Forwarded-Proto (settings.SECURE_PROXY_SSL_HEADER); trust it from these addresses
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# request lines only; the query strings of the API never carry keys (tokens travel in headers)
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'
