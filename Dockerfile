# The gateway image: slim Python, a non-root user, config and ledger on volumes, health on /healthz.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY commands ./commands
COPY config ./config
# The same install as the README's quick start (editable, so config/ is found next to the code).
RUN pip install --no-cache-dir -e . \
    && useradd --create-home --uid 10001 gateway \
    && mkdir -p /data \
    && chown gateway /data

USER gateway
ENV GATEWAY_LEDGER__PATH=/data/gateway.db \
    GATEWAY_HTTP__HOST=0.0.0.0 \
    GATEWAY_HTTP__PORT=8080
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"

# SIGTERM: stop taking MOs, finish the work in hand, drain the window, unbind, close the ledger (exit 0).
STOPSIGNAL SIGTERM
ENTRYPOINT ["gateway"]
CMD ["run"]
