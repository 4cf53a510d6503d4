{{/* An APIService of the server: call with (dict "root" $ "group" … "priority" …). */}}
{{- define "tenancy-apiserver.apiService" -}}
{{- $root := .root -}}
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1alpha1.{{ .group }}
  labels:
    {{- include "tenancy-apiserver.labels" $root | nindent 4 }}
  {{- if eq $root.Values.tls.mode "certManager" }}
  annotations:
    cert-manager.io/inject-ca-from: {{ include "tenancy-apiserver.caInjectFrom" $root }}
  {{- end }}
spec:
  group: {{ .group }}
  version: v1alpha1
  groupPriorityMinimum: {{ .priority }}
  versionPriority: {{ $root.Values.apiService.versionPriority }}
  service:
    name: {{ include "tenancy-apiserver.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    port: {{ $root.Values.service.port }}
  {{- if eq $root.Values.tls.mode "selfSigned" }}
  insecureSkipTLSVerify: true
  {{- else if ne $root.Values.tls.mode "certManager" }}
  caBundle: {{ include "tenancy-apiserver.caBundle" $root }}
  {{- end }}
{{- end -}}
