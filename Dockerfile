# tenancy-apiserver: a static binary on a distroless base, run as nobody.
# make image packs the same image without Docker (hack/build-image.sh); test/image checks that
# its files, user, entrypoint and labels are the ones this final stage declares.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git (.dockerignore): make image-docker passes the version, commit,
# tree state and the commit's date.
ARG VERSION=v0.0.0-dev
ARG COMMIT=unknown
ARG TREE_STATE=clean
ARG BUILD_DATE=1970-01-01T00:00:00Z
RUN make build VERSION=${VERSION} COMMIT=${COMMIT} TREE_STATE=${TREE_STATE} BUILD_DATE=${BUILD_DATE}

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=v0.0.0-dev
ARG COMMIT=unknown
ARG BUILD_DATE=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="tenancy-apiserver" \
      org.opencontainers.image.source="https://github.com/tenancy-apiserver/tenancy-apiserver" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${BUILD_DATE}"
COPY --from=build /src/_output/bin/tenancy-apiserver /tenancy-apiserver
USER 65534:65534
ENTRYPOINT ["/tenancy-apiserver"]
