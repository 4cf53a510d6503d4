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
{{- $urls = append $urls (printf "http://%s-%d.%s.%s.svc:2379" $name $i $name $.Release.Namespace) -}}
{{- end -}}
{{- join "," $urls -}}
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
{{- if and .Values.webhook.callerAuth.enabled (empty .Values.webhook.callerAuth.secretName) -}}
{{- fail "webhook.callerAuth.secretName: required with webhook.callerAuth.enabled" -}}
{{- end -}}
{{- end -}}
