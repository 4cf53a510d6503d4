// Module oidc is the local cluster's OpenID Connect issuer. Its dependencies are kept out of
// the product's module.
module github.com/tenancy-apiserver/tenancy-apiserver/hack/oidc

go 1.26.0

require github.com/go-jose/go-jose/v4 v4.1.9
