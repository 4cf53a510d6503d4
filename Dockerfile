# tenancy-apiserver: a static binary on a distroless base, run as nobody.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git (.dockerignore): make image passes the version, commit and
# tree state.
ARG VERSION=v0.0.0-dev
ARG COMMIT=unknown
ARG TREE_STATE=clean
RUN make build VERSION=${VERSION} COMMIT=${COMMIT} TREE_STATE=${TREE_STATE}

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/_output/bin/tenancy-apiserver /tenancy-apiserver
USER 65534:65534
ENTRYPOINT ["/tenancy-apiserver"]
