# The gateway alone; compose.yaml runs two replicas with Redis behind one port.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip install . && useradd --system --uid 10001 --no-create-home gateway

USER gateway
EXPOSE 8000
# Liveness only; a load balancer that can should ask /readyz (503 while Redis is away).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["meetings-gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
