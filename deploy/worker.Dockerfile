# Worker image for running `eosin build` on Flink, Spark or Dataflow workers.
#
# Beam's Go SDK image has no libtesseract and no MuPDF, and its launcher cross-compiles
# workers with CGO_ENABLED=0, which cannot build eosin (gosseract and go-fitz use cgo). This
# image builds eosin with cgo on Debian bookworm, keeps the same glibc at run time, and keeps
# Beam's boot program as the entrypoint, so it works as --sdk_container_image (Dataflow),
# --environment_config (DOCKER) or as a --worker_pool sidecar (EXTERNAL). The binary is also
# at /opt/eosin/eosin; pass a copy of it as --worker_binary (`make worker-image` extracts it
# to bin/eosin-worker).
#
#   docker build -f deploy/worker.Dockerfile -t eosin-worker:latest .

ARG BEAM_VERSION=2.77.0

FROM golang:1.26-bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libmupdf-dev libmujs-dev libgumbo-dev libopenjp2-7-dev libjbig2dec0-dev libharfbuzz-dev \
      libfreetype-dev libjpeg-dev libtesseract-dev libleptonica-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 GOOS=linux go build -tags extlib -trimpath -o /out/eosin ./cmd/eosin

FROM apache/beam_go_sdk:${BEAM_VERSION} AS beam

FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libtesseract5 liblept5 tesseract-ocr-eng tesseract-ocr-osd \
      libmujs2 libgumbo1 libopenjp2-7 libjbig2dec0 libharfbuzz0b libfreetype6 libjpeg62-turbo \
      ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=beam /opt/apache/beam /opt/apache/beam
COPY --from=build /out/eosin /opt/eosin/eosin
ENV OMP_THREAD_LIMIT=1
ENTRYPOINT ["/opt/apache/beam/boot"]
