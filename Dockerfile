# syntax=docker/dockerfile:1
# credserver image: static credserver and credctl on distroless, run as the
# nonroot user (65532), no shell. credctl sits at /usr/local/bin/credctl: the
# z2jh init container (deploy/jupyterhub/z2jh-values.yaml) runs
#   /usr/local/bin/credctl install /opt/credserver/bin
# to share it with every user server, and an image you build can take it with
#   COPY --from=<this image> /usr/local/bin/credctl /usr/local/bin/credctl
# (deploy/helm/initcontainer_test.go checks the values against this file).
#
#   docker build --build-arg VERSION=v0.1.0 -t credserver .
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# deploy/dockerfile_test.go runs this very command and checks the binaries
# are static and carry VERSION.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/credserver/credserver/internal/app.Version=${VERSION} -X github.com/credserver/credserver/internal/credctl.Version=${VERSION}" -o /out/ ./cmd/credserver ./cmd/credctl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/credserver /out/credctl /usr/local/bin/
USER 65532:65532
ENV CREDSERVER_CONFIG=/etc/credserver/config.yaml
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/credserver", "serve"]
