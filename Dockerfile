# Mosaic: one image for `mosaic serve` and `mosaic worker`.
# Build: docker build -t mosaic .
# Run:   docker run mosaic serve --listen 0.0.0.0:8080 ...   |   docker run mosaic worker ...

# --- build stage: Go toolchain + GStreamer/codec development headers (cgo) ---
FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      pkg-config libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
      libgstreamer-plugins-bad1.0-dev libvpx-dev libopus-dev libx264-dev npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN bash scripts/vendor-web.sh
RUN go build -trimpath -ldflags "-s -w" -o /out/mosaic ./cmd/mosaic

# --- runtime stage: only the GStreamer plugins and libraries the binary uses ---
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates redis-server fonts-dejavu-core \
      libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libgstreamer-plugins-bad1.0-0 \
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
      gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x \
      libvpx7 libopus0 libx264-164 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/mosaic --uid 10001 mosaic
COPY --from=build /out/mosaic /usr/local/bin/mosaic
USER mosaic
WORKDIR /var/lib/mosaic
ENV MOSAIC_DATA_DIR=/var/lib/mosaic/data MOSAIC_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/mosaic/data"]
EXPOSE 8080 8443/udp 8443/tcp
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD ["mosaic", "health", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["mosaic"]
CMD ["serve"]
