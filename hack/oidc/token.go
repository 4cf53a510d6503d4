package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Settings of `oidc-issuer token` that --env reads from the local control plane's settings
// file (hack/lib/oidc.sh writes them).
const (
	envIssuerURL  = "OIDC_ISSUER_URL"
	envSigningKey = "OIDC_SIGNING_KEY"
	envAudience   = "OIDC_AUDIENCE"
)

// maxLifetime bounds --lifetime: the tokens are bearer credentials.
const maxLifetime = 24 * time.Hour

// tokenOptions are the command line of `oidc-issuer token`.
type tokenOptions struct {
	issuerURL, signingKeyFile, audience, user string
	groups                                    []string
	lifetime, issuedAgo                       time.Duration
	execCredential                            bool
}

// listFlag is a flag that may be given more than once.
type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l listFlag) Set(v string) error {
	*l.values = append(*l.values, v)
	return nil
}

func parseToken(args []string) (tokenOptions, error) {
	fs := flag.NewFlagSet("oidc-issuer token", flag.ContinueOnError)
	var o tokenOptions
	var envFile string
	fs.StringVar(&envFile, "env", "", "settings file of the local control plane (_output/local/env): the defaults of --issuer-url, --signing-key-file and --audience")
	fs.StringVar(&o.issuerURL, "issuer-url", "", "the iss claim: the issuer kube-apiserver trusts")
	fs.StringVar(&o.signingKeyFile, "signing-key-file", "", "the issuer's signing key, PEM PKCS #8")
	fs.StringVar(&o.audience, "audience", "", "the aud claim: the audience kube-apiserver expects")
	fs.StringVar(&o.user, "user", "", "the sub claim, the user's name before kube-apiserver's prefix (required)")
	fs.Var(listFlag{&o.groups}, "group", "a group of the groups claim, before kube-apiserver's prefix (repeat for several)")
	fs.DurationVar(&o.lifetime, "lifetime", time.Hour, "how long the token is valid from its issue time (at most 24h)")
	fs.DurationVar(&o.issuedAgo, "issued-ago", 0, "how long ago the token was issued: with --lifetime shorter than it, the token has expired")
	fs.BoolVar(&o.execCredential, "exec-credential", false, "print a client.authentication.k8s.io/v1 ExecCredential, for a kubeconfig exec plugin, instead of the bare token")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if envFile != "" {
		env, err := readEnv(envFile)
		if err != nil {
			return o, err
		}
		for _, d := range []struct {
			value *string
			name  string
		}{{&o.issuerURL, envIssuerURL}, {&o.signingKeyFile, envSigningKey}, {&o.audience, envAudience}} {
			if *d.value == "" {
				*d.value = env[d.name]
			}
		}
	}
	var errs []string
	if err := validIssuerURL(o.issuerURL); err != nil {
		errs = append(errs, "--issuer-url: "+err.Error())
	}
	errs = append(errs, required(map[string]string{
		"--signing-key-file": o.signingKeyFile, "--audience": o.audience, "--user": o.user,
	})...)
	for _, g := range o.groups {
		if g == "" {
			errs = append(errs, "--group must not be empty")
		}
	}
	if o.lifetime <= 0 || o.lifetime > maxLifetime {
		errs = append(errs, fmt.Sprintf("--lifetime %s: want more than 0 and at most %s", o.lifetime, maxLifetime))
	}
	if o.issuedAgo < 0 {
		errs = append(errs, fmt.Sprintf("--issued-ago %s: must not be negative", o.issuedAgo))
	}
	if len(errs) > 0 {
		return o, errors.New(strings.Join(errs, "; "))
	}
	return o, nil
}

// readEnv reads the KEY=VALUE lines of a settings file (values quoted by printf %q or not).
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--env: %w", err)
	}
	defer func() { _ = f.Close() }()
	env := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("--env %s: malformed line %q", path, line)
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else if len(v) >= 2 && strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("--env %s: %w", path, err)
	}
	return env, nil
}

// idClaims are the claims of an ID token beyond the registered ones.
type idClaims struct {
	Groups []string `json:"groups,omitempty"`
}

// mint signs an ID token for o at time now, and returns it with its expiry.
func mint(o tokenOptions, key *signingKey, now time.Time) (string, time.Time, error) {
	signer, err := key.signer()
	if err != nil {
		return "", time.Time{}, err
	}
	issued := now.Add(-o.issuedAgo)
	expiry := issued.Add(o.lifetime)
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:    o.issuerURL,
		Subject:   o.user,
		Audience:  jwt.Audience{o.audience},
		IssuedAt:  jwt.NewNumericDate(issued),
		NotBefore: jwt.NewNumericDate(issued),
		Expiry:    jwt.NewNumericDate(expiry),
	}).Claims(idClaims{Groups: o.groups}).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing the token: %w", err)
	}
	return raw, expiry, nil
}

// execCredential is the client.authentication.k8s.io/v1 ExecCredential kubectl reads from an
// exec plugin.
type execCredential struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Status     execCredentialStatus `json:"status"`
}

type execCredentialStatus struct {
	Token               string `json:"token"`
	ExpirationTimestamp string `json:"expirationTimestamp"`
}

func token(args []string, out io.Writer) error {
	o, err := parseToken(args)
	if err != nil {
		return err
	}
	key, err := loadSigningKey(o.signingKeyFile)
	if err != nil {
		return err
	}
	raw, expiry, err := mint(o, key, time.Now())
	if err != nil {
		return err
	}
	if !o.execCredential {
		_, err = fmt.Fprintln(out, raw)
		return err
	}
	return json.NewEncoder(out).Encode(execCredential{
		APIVersion: "client.authentication.k8s.io/v1",
		Kind:       "ExecCredential",
		Status:     execCredentialStatus{Token: raw, ExpirationTimestamp: expiry.UTC().Format(time.RFC3339)},
	})
}
