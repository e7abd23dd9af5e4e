# The coredns binary with clusterdns, on a distroless base, running as a
# non-root user that may still bind port 53.
#
#   docker build -t ghcr.io/clusterdns/coredns:0.1.0 .

FROM golang:1.26-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first, so that a change to the sources reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A static binary, and the right to bind port 53 without root, carried by
# the file itself (the pod must still allow it: capabilities: add:
# [NET_BIND_SERVICE]).
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /coredns ./cmd/coredns \
    && setcap cap_net_bind_service=+ep /coredns

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /coredns /coredns
# Numeric, so that the kubelet can check runAsNonRoot without reading
# /etc/passwd in the image.
USER 65532:65532
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
