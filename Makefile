# tenancy-apiserver
#
#   make local-up     start the product on a local control plane (builds what it needs)
#   make test         run every test suite: unit, integration and end-to-end
#
SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
.DEFAULT_GOAL := build

OUTPUT     ?= _output
BIN        := $(OUTPUT)/bin
GO         ?= go
PKG        := github.com/tenancy-apiserver/tenancy-apiserver
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# dirty when the work tree has changes, untracked files included, as kube's gitTreeState.
TREE_STATE ?= $(if $(shell git status --porcelain 2>/dev/null),dirty,clean)
# The date of the commit built, not of the build: the same sources give the same ldflags, so a
# repeated make build (every make local-up) finds the binary up to date instead of relinking it.
BUILD_DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)
LDFLAGS    := -s -w \
	-X $(PKG)/pkg/version.gitVersion=$(VERSION) \
	-X $(PKG)/pkg/version.gitCommit=$(COMMIT) \
	-X $(PKG)/pkg/version.gitTreeState=$(TREE_STATE) \
	-X $(PKG)/pkg/version.buildDate=$(BUILD_DATE) \
	-X k8s.io/component-base/version.gitCommit=$(COMMIT) \
	-X k8s.io/component-base/version.gitTreeState=$(TREE_STATE) \
	-X k8s.io/component-base/version.buildDate=$(BUILD_DATE)
GOTEST     ?= $(GO) test
TEST_FLAGS ?=
# How many of the e2e tests that call t.Parallel run at once (go test's default is the number
# of CPUs): those tests mostly wait, for controllers, schedules and kube-apiserver.
E2E_PARALLEL ?= 8
# $(call timed,NAME,COMMAND) runs a suite's COMMAND, then prints how long NAME took, and
# exits as COMMAND did.
timed = start=$$SECONDS rc=0; $(2) || rc=$$?; echo "$(1) took $$((SECONDS - start)) s"; exit $$rc

.PHONY: build
build: plugins ## A static tenancy-apiserver binary in _output/bin, and the kubectl plugins.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/tenancy-apiserver ./cmd/tenancy-apiserver

PLUGINS := kubectl-space kubectl-account

.PHONY: plugins
plugins: ## The kubectl plugins kubectl-space and kubectl-account in _output/bin, with their kubectl_complete-* links.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(PLUGINS))
	for p in $(PLUGINS); do ln -sf "$$p" "$(BIN)/kubectl_complete-$${p#kubectl-}"; done

.PHONY: plugin-dist
plugin-dist: ## Release archives of the kubectl plugins per platform, with checksums and filled-in krew manifests, in _output/dist (URL=where the archives are downloaded from).
	VERSION='$(VERSION)' URL='$(URL)' LDFLAGS='$(LDFLAGS)' OUTPUT='$(OUTPUT)' hack/plugin-dist.sh

# The image's name: the chart's image.repository, tagged with the version.
IMAGE ?= ghcr.io/tenancy-apiserver/tenancy-apiserver:$(VERSION)

.PHONY: image
image: build ## The product's image as an OCI tarball in _output/images, without Docker, from make build's binary.
	IMAGE=$(IMAGE) VERSION=$(VERSION) COMMIT=$(COMMIT) BUILD_DATE=$(BUILD_DATE) hack/build-image.sh

.PHONY: image-docker
image-docker: ## The same image with a Docker engine, from the Dockerfile, built with the flags of make build.
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg TREE_STATE=$(TREE_STATE) \
		--build-arg BUILD_DATE=$(BUILD_DATE) -t $(IMAGE) .

.PHONY: test-image
test-image: image ## make image's tarball against the Dockerfile's final stage: files, user, entrypoint, labels.
	IMAGE_TARBALL=$(abspath $(OUTPUT))/images/tenancy-apiserver.tar SERVER_BINARY=$(abspath $(BIN))/tenancy-apiserver \
		IMAGE_NAME=$(IMAGE) IMAGE_VERSION=$(VERSION) IMAGE_COMMIT=$(COMMIT) IMAGE_BUILD_DATE=$(BUILD_DATE) \
		$(GOTEST) $(TEST_FLAGS) -count=1 ./test/image/...

.PHONY: controlplane
controlplane: ## kube-apiserver, kube-controller-manager and etcd in _output/bin (cached).
	hack/build-controlplane.sh

.PHONY: node
node: ## kubelet, kube-scheduler, kube-proxy, kube-router, localdns (the node's cluster DNS) in _output/bin and the pause image in _output/images (cached).
	hack/build-node.sh
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/localdns ./hack/localdns

.PHONY: standins
standins: ## The walkthrough's images (nginx, redis, brentley/ecsdemo-nodejs) as stand-ins of hack/standin in _output/images, for the local registry.
	hack/build-standins.sh

.PHONY: etcd-image
etcd-image: controlplane ## etcd (make controlplane's) as the image tenancy.local/etcd:VERSION in _output/images, for the chart's bundled etcd on the local node.
	hack/build-etcd-image.sh

.PHONY: registry
registry: ## The local OCI registry (images and Helm charts, TLS, a password) in _output/bin, from hack/registry.
	cd hack/registry && CGO_ENABLED=0 $(GO) build -trimpath -o $(abspath $(BIN))/registry .

.PHONY: oidc-issuer
oidc-issuer: ## The local OpenID Connect issuer (discovery, keys, ID tokens for named users and groups) in _output/bin, from hack/oidc.
	cd hack/oidc && CGO_ENABLED=0 $(GO) build -trimpath -o $(abspath $(BIN))/oidc-issuer .

.PHONY: helm
helm: ## helm in _output/bin, built from the version pinned in hack/tools/helm (cached).
	hack/build-helm.sh

.PHONY: manifests
manifests: ## Render charts/tenancy-apiserver into the plain manifests of artifacts/deploy.
	hack/update-manifests.sh

.PHONY: local-up
local-up: ## Build what is missing, then start etcd, kube-apiserver, kube-controller-manager and tenancy-apiserver.
	hack/local-up.sh

.PHONY: local-down
local-down: ## Stop everything local-up started.
	hack/local-down.sh

.PHONY: backup
backup: ## Save a snapshot of the local control plane's tenancy etcd to FILE (make backup FILE=tenancy.db).
	@test -n "$(FILE)" || { echo "usage: make backup FILE=<snapshot file>" >&2; exit 2; }
	hack/backup.sh save "$(FILE)"

.PHONY: restore
restore: ## Restore FILE into the local control plane's tenancy etcd, restarting its replicas (make restore FILE=tenancy.db).
	@test -n "$(FILE)" || { echo "usage: make restore FILE=<snapshot file>" >&2; exit 2; }
	hack/backup.sh restore "$(FILE)"

.PHONY: test
test: test-unit test-tools test-image test-chart test-integration test-e2e test-node ## Every test suite.

.PHONY: test-unit
test-unit: ## Unit tests (no servers).
	$(call timed,test-unit,$(GOTEST) $(TEST_FLAGS) -race $$($(GO) list ./... | grep -v -e /test/integration -e /test/controlplane -e /test/e2e -e /test/chart -e /test/node))

.PHONY: test-tools
test-tools: ## Unit tests of the tools in their own modules: imagepack (hack/tools/image), etcdbackup (hack/tools/etcdbackup), the registry (hack/registry) and the OIDC issuer (hack/oidc).
	cd hack/tools/image && $(GOTEST) $(TEST_FLAGS) -race ./...
	cd hack/tools/etcdbackup && $(GOTEST) $(TEST_FLAGS) -race ./...
	cd hack/registry && $(GOTEST) $(TEST_FLAGS) -race ./...
	cd hack/oidc && $(GOTEST) $(TEST_FLAGS) -race ./...

.PHONY: test-chart
test-chart: helm ## helm lint and helm template of the chart for its default and ci/ values, with checks of the output.
	$(call timed,test-chart,$(GOTEST) $(TEST_FLAGS) ./test/chart/...)

.PHONY: test-integration
test-integration: controlplane ## The whole server in-process on an embedded etcd, with etcd, kube-apiserver and kube-controller-manager as its core API.
	$(call timed,test-integration,$(GOTEST) $(TEST_FLAGS) ./test/controlplane/... ./test/integration/...)

.PHONY: test-e2e
test-e2e: build controlplane helm ## Against a real kube-apiserver with the real kubectl.
	$(call timed,test-e2e,SKIP_BUILD=1 $(GOTEST) $(TEST_FLAGS) -parallel $(E2E_PARALLEL) -timeout 60m ./test/e2e/...)

.PHONY: test-node
test-node: build controlplane node registry image standins etcd-image helm ## The local node (needs root): Pods run, network and node isolation hold, local-down leaves the host as it found it.
	$(call timed,test-node,SKIP_BUILD=1 $(GOTEST) $(TEST_FLAGS) -count=1 -timeout 30m ./test/node/...)

.PHONY: bench
bench: ## Go benchmarks (at up to 100,000 namespaces: building those indexes takes minutes).
	$(GOTEST) -run '^$$' -bench . -benchmem -timeout 60m ./pkg/...

.PHONY: bench-e2e
bench-e2e: build controlplane ## Benchmarks through the local control plane (Space create with mandatory templates, Pod creates under quota and with isolation, writes with sleep mode).
	SKIP_BUILD=1 $(GOTEST) -run '^$$' -bench BenchmarkSpaceCreateWithMandatoryTemplates -benchtime 20x -timeout 20m ./test/e2e/
	SKIP_BUILD=1 $(GOTEST) -run '^$$' -bench BenchmarkPodCreateUnderQuota -benchtime 500x -timeout 20m ./test/e2e/
	SKIP_BUILD=1 $(GOTEST) -run '^$$' -bench BenchmarkPodCreateWithIsolation -benchtime 500x -timeout 20m ./test/e2e/
	SKIP_BUILD=1 $(GOTEST) -run '^$$' -bench BenchmarkWriteWithSleepMode -benchtime 300x -timeout 20m ./test/e2e/

# The scenarios of hack/scenarios run on the running local control plane (make local-up;
# LOCAL_DIR and the ports as for local-up) and write their reports to _output/scenarios.
# SCENARIO_FLAGS passes flags (go run ./hack/scenarios <scenario> -h lists them).
SCENARIO_FLAGS ?=
SCENARIOS := $(GO) run ./hack/scenarios

.PHONY: scenario-list
scenario-list: ## A user's list of 10 Spaces at 1,000 and 10,000 namespaces against their GET of one namespace, and the server's memory (needs local-up).
	$(SCENARIOS) list $(SCENARIO_FLAGS)

.PHONY: scenario-watch
scenario-watch: ## 1,000 Space watches, RBAC grants and revocations: latency to the affected watcher against kube-apiserver's own namespace watches (needs local-up).
	$(SCENARIOS) watch $(SCENARIO_FLAGS)

.PHONY: scenario-admission
scenario-admission: ## Pod creates under AccountQuota against no-op copies of the webhooks and against ResourceQuota, 50 callers (needs local-up).
	$(SCENARIOS) admission $(SCENARIO_FLAGS)

.PHONY: scenario-restart
scenario-restart: ## Restart at 10,000 namespaces: process start to /readyz against the same informers syncing alone (needs local-up).
	$(SCENARIOS) restart $(SCENARIO_FLAGS)

.PHONY: scenario-clean
scenario-clean: ## Delete what the scenarios created on the local control plane.
	$(SCENARIOS) clean $(SCENARIO_FLAGS)

# How long make scenario-soak churns; make test runs the same scenario for 3 minutes (TestSoak).
DURATION ?= 30m

.PHONY: scenario-soak
scenario-soak: build controlplane ## Churn of Spaces, Pods, ConfigMaps, RBAC and Templates for DURATION (default 30m), checked throughout against SubjectAccessReview and the objects; report in _output/scenarios/ (hack/scenarios/soak; starts or reuses the local control plane).
	SKIP_BUILD=1 SOAK_DURATION=$(DURATION) $(GOTEST) -count=1 -v -run '^TestSoak$$' -timeout 0 ./test/e2e/

.PHONY: update
update: ## Regenerate generated code and artifacts/deploy, and tidy go.mod.
	hack/update-codegen.sh
	hack/update-manifests.sh
	$(GO) mod tidy

.PHONY: verify
verify: ## gofmt, go vet, generated code, go.mod and artifacts/deploy drift.
	hack/verify.sh

.PHONY: clean
clean:
	rm -rf $(OUTPUT)/bin/tenancy-apiserver $(addprefix $(OUTPUT)/bin/,$(PLUGINS)) $(OUTPUT)/bin/kubectl_complete-* $(OUTPUT)/codegen-bin

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "%-18s %s\n", $$1, $$2}'
