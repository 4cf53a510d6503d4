// Module image is imagepack, the tool that packs static binaries into container image
// tarballs without a Docker engine (the local node's pause image, stand-in images, the
// product's image). Its dependencies are kept out of the product's module.
module github.com/tenancy-apiserver/tenancy-apiserver/hack/tools/image

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
