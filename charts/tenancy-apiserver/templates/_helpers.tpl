{{/* The chart's name, or nameOverride. */}}
{{- define "tenancy-apiserver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name of the server's objects: the release name, with the chart name appended
unless it already contains it. */}}
{{- define "tenancy-apiserver.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The bundled etcd's name (StatefulSet, headless Service, PDB). */}}
{{- define "tenancy-apiserver.etcdName" -}}
{{- printf "%s-etcd" (include "tenancy-apiserver.fullname" .) | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* The server's ServiceAccount. */}}
{{- define "tenancy-apiserver.serviceAccountName" -}}
{{- default (include "tenancy-apiserver.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The Service's DNS name, which the serving certificate is valid for. */}}
{{- define "tenancy-apiserver.serviceHost" -}}
{{- printf "%s.%s.svc" (include "tenancy-apiserver.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The Secret holding the serving certificate (modes generate, certManager, secret). */}}
{{- define "tenancy-apiserver.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "tenancy-apiserver.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The cert-manager Certificate of the serving certificate. */}}
{{- define "tenancy-apiserver.certificateName" -}}
{{- include "tenancy-apiserver.fullname" . -}}
{{- end -}}

{{/* Labels shared by every object. */}}
{{- define "tenancy-apiserver.labels" -}}
app.kubernetes.io/name: {{ include "tenancy-apiserver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Values.helmLabels }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}
{{- end -}}

{{/* The labels that select the server's Pods. */}}
{{- define "tenancy-apiserver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tenancy-apiserver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{/* The labels that select the bundled etcd's Pods. */}}
{{- define "tenancy-apiserver.etcdSelectorLabels" -}}
app.kubernetes.io/name: {{ include "tenancy-apiserver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: etcd
{{- end -}}

{{/* The ServiceAccount as an RBAC subject. */}}
{{- define "tenancy-apiserver.subject" -}}
- kind: ServiceAccount
  name: {{ include "tenancy-apiserver.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{/* The server image, by digest when one is given. */}}
{{- define "tenancy-apiserver.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The client URLs of the bundled etcd's members. */}}
{{- define "tenancy-apiserver.etcdEndpoints" -}}
{{- $name := include "tenancy-apiserver.etcdName" . -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.storage.bundled.replicas) -}}
{{- $urls = append $urls (printf "https://%s-%d.%s.%s.svc:2379" $name $i $name $.Release.Namespace) -}}
{{- end -}}
{{- join "," $urls -}}
{{- end -}}

{{/* The bundled etcd's members' DNS domain: <member>.<domain> is each member's name. */}}
{{- define "tenancy-apiserver.etcdDomain" -}}
{{- $name := include "tenancy-apiserver.etcdName" . -}}
{{- printf "%s.%s.svc" $name .Release.Namespace -}}
{{- end -}}

{{/* The Secret with the bundled etcd members' certificate (serving clients and peers). */}}
{{- define "tenancy-apiserver.etcdMemberSecretName" -}}
{{- if eq .Values.storage.bundled.tls.mode "secret" -}}
{{- .Values.storage.bundled.tls.secret.memberSecretName -}}
{{- else -}}
{{- printf "%s-tls" (include "tenancy-apiserver.etcdName" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret with the server's etcd client certificate: storage.external.tls.secretName, or
the bundled etcd's client Secret; empty when the server connects without one. */}}
{{- define "tenancy-apiserver.etcdClientSecretName" -}}
{{- if eq .Values.storage.mode "external" -}}
{{- .Values.storage.external.tls.secretName -}}
{{- else if eq .Values.storage.mode "bundled" -}}
{{- if eq .Values.storage.bundled.tls.mode "secret" -}}
{{- .Values.storage.bundled.tls.secret.clientSecretName -}}
{{- else -}}
{{- printf "%s-client-tls" (include "tenancy-apiserver.etcdName" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The keys of the etcd client Secret: a dict with ca, cert and key. */}}
{{- define "tenancy-apiserver.etcdClientKeys" -}}
{{- if eq .Values.storage.mode "external" -}}
{{- with .Values.storage.external.tls -}}
{{- dict "ca" .caKey "cert" .certKey "key" .keyKey | toJson -}}
{{- end -}}
{{- else -}}
{{- dict "ca" "ca.crt" "cert" "tls.crt" "key" "tls.key" | toJson -}}
{{- end -}}
{{- end -}}

{{/* The bundled etcd's certificates made by the chart in storage.bundled.tls.mode generate:
the ones in the existing Secrets when both are there (so upgrades keep them), otherwise a
new CA, the members' certificate (server and client auth, for clients and peers) and the
server's client certificate. A dict with ca, memberCrt, memberKey, clientCrt and clientKey
(PEM), computed once per render. */}}
{{- define "tenancy-apiserver.etcdGeneratedCerts" -}}
{{- if not .etcdGeneratedCerts -}}
{{- $member := lookup "v1" "Secret" .Release.Namespace (include "tenancy-apiserver.etcdMemberSecretName" .) -}}
{{- $client := lookup "v1" "Secret" .Release.Namespace (include "tenancy-apiserver.etcdClientSecretName" .) -}}
{{- if and $member $client (index $member.data "ca.crt") (index $client.data "ca.crt") -}}
{{- $_ := set . "etcdGeneratedCerts" (dict "ca" (index $member.data "ca.crt" | b64dec) "memberCrt" (index $member.data "tls.crt" | b64dec) "memberKey" (index $member.data "tls.key" | b64dec) "clientCrt" (index $client.data "tls.crt" | b64dec) "clientKey" (index $client.data "tls.key" | b64dec)) -}}
{{- else -}}
{{- $name := include "tenancy-apiserver.etcdName" . -}}
{{- $domain := include "tenancy-apiserver.etcdDomain" . -}}
{{- $days := int .Values.storage.bundled.tls.generate.days -}}
{{- $ca := genCA (printf "%s-ca" $name) $days -}}
{{- $memberCert := genSignedCert $name (list "127.0.0.1") (list (printf "*.%s" $domain) (printf "*.%s.cluster.local" $domain) $domain "localhost") $days $ca -}}
{{- $clientCert := genSignedCert (include "tenancy-apiserver.fullname" .) nil nil $days $ca -}}
{{- $_ := set . "etcdGeneratedCerts" (dict "ca" $ca.Cert "memberCrt" $memberCert.Cert "memberKey" $memberCert.Key "clientCrt" $clientCert.Cert "clientKey" $clientCert.Key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The serving certificate made by the chart in mode generate: the one in the existing
Secret when there is one (so upgrades keep it), otherwise a new CA and certificate. A dict
with ca, crt and key (PEM), computed once per render. */}}
{{- define "tenancy-apiserver.generatedCert" -}}
{{- if not .generatedCert -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "tenancy-apiserver.tlsSecretName" .) -}}
{{- if and $secret (index $secret.data "ca.crt") -}}
{{- $_ := set . "generatedCert" (dict "ca" (index $secret.data "ca.crt" | b64dec) "crt" (index $secret.data "tls.crt" | b64dec) "key" (index $secret.data "tls.key" | b64dec)) -}}
{{- else -}}
{{- $fullname := include "tenancy-apiserver.fullname" . -}}
{{- $host := include "tenancy-apiserver.serviceHost" . -}}
{{- $ca := genCA (printf "%s-ca" $fullname) (int .Values.tls.generate.days) -}}
{{- $cert := genSignedCert $host nil (list $host (printf "%s.cluster.local" $host) (printf "%s.%s" $fullname .Release.Namespace) $fullname) (int .Values.tls.generate.days) $ca -}}
{{- $_ := set . "generatedCert" (dict "ca" $ca.Cert "crt" $cert.Cert "key" $cert.Key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The caBundle field for the APIServices and the webhook, by tls.mode; empty in modes
certManager (cainjector fills it) and selfSigned. */}}
{{- define "tenancy-apiserver.caBundle" -}}
{{- if eq .Values.tls.mode "generate" -}}
{{- include "tenancy-apiserver.generatedCert" . -}}
{{- .generatedCert.ca | b64enc -}}
{{- else if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.secret.caBundle | b64enc -}}
{{- end -}}
{{- end -}}

{{/* The value of the cainjector annotation cert-manager.io/inject-ca-from in mode certManager. */}}
{{- define "tenancy-apiserver.caInjectFrom" -}}
{{- printf "%s/%s" .Release.Namespace (include "tenancy-apiserver.certificateName" .) -}}
{{- end -}}

{{/* Checks of combinations the schema cannot express; fails the render with the field's name. */}}
{{- define "tenancy-apiserver.validate" -}}
{{- if and (eq .Values.storage.mode "embedded") (gt (int .Values.replicas) 1) -}}
{{- fail "replicas: storage.mode embedded runs one replica (its etcd is inside the process); use storage.mode external or bundled for more" -}}
{{- end -}}
{{- if and (eq .Values.storage.mode "external") (empty .Values.storage.external.endpoints) -}}
{{- fail "storage.external.endpoints: required with storage.mode external" -}}
{{- end -}}
{{- if and (eq .Values.tls.mode "secret") (or (empty .Values.tls.secret.name) (empty .Values.tls.secret.caBundle)) -}}
{{- fail "tls.secret.name and tls.secret.caBundle: both required with tls.mode secret" -}}
{{- end -}}
{{- if and (eq .Values.storage.mode "bundled") (eq .Values.storage.bundled.tls.mode "secret") (or (empty .Values.storage.bundled.tls.secret.memberSecretName) (empty .Values.storage.bundled.tls.secret.clientSecretName)) -}}
{{- fail "storage.bundled.tls.secret.memberSecretName and storage.bundled.tls.secret.clientSecretName: both required with storage.bundled.tls.mode secret" -}}
{{- end -}}
{{- if and .Values.webhook.callerAuth.enabled (empty .Values.webhook.callerAuth.secretName) -}}
{{- fail "webhook.callerAuth.secretName: required with webhook.callerAuth.enabled" -}}
{{- end -}}
{{- end -}}

{{/* The lifetime, key and issuer of the bundled etcd's cert-manager Certificates. */}}
{{- define "tenancy-apiserver.etcdCertManagerSpec" -}}
{{- with .Values.storage.bundled.tls.certManager -}}
duration: {{ .duration }}
renewBefore: {{ .renewBefore }}
privateKey:
  algorithm: ECDSA
  size: 256
  rotationPolicy: Always
issuerRef:
  {{- if .issuerRef.name }}
  name: {{ .issuerRef.name }}
  kind: {{ .issuerRef.kind }}
  group: {{ .issuerRef.group }}
  {{- else }}
  name: {{ include "tenancy-apiserver.etcdName" $ }}-ca
  kind: Issuer
  group: cert-manager.io
  {{- end }}
{{- end -}}
{{- end -}}
