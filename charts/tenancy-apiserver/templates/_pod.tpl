{{/* The server's Pod template, shared by the StatefulSet (storage.mode embedded) and the
Deployment (external, bundled). */}}
{{- define "tenancy-apiserver.podTemplate" -}}
metadata:
  labels:
    {{- include "tenancy-apiserver.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "tenancy-apiserver.serviceAccountName" . }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
  {{- range . }}
  - {{ toYaml . | nindent 4 | trim }}
    labelSelector:
      matchLabels:
        {{- include "tenancy-apiserver.selectorLabels" $ | nindent 8 }}
  {{- end }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
  - name: tenancy-apiserver
    image: {{ include "tenancy-apiserver.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
    - --secure-port={{ .Values.containerPort }}
    {{- if eq .Values.tls.mode "selfSigned" }}
    - --cert-dir=/var/run/tenancy-apiserver/serving-cert
    {{- else }}
    - --tls-cert-file=/var/run/tenancy-apiserver/serving-cert/tls.crt
    - --tls-private-key-file=/var/run/tenancy-apiserver/serving-cert/tls.key
    {{- end }}
    {{- if eq .Values.storage.mode "embedded" }}
    - --embedded-etcd-dir=/var/lib/tenancy-apiserver/etcd
    {{- else if eq .Values.storage.mode "external" }}
    - --etcd-servers={{ join "," .Values.storage.external.endpoints }}
    - --etcd-prefix={{ .Values.storage.external.prefix }}
    {{- else if eq .Values.storage.mode "bundled" }}
    - --etcd-servers={{ include "tenancy-apiserver.etcdEndpoints" . }}
    {{- end }}
    {{- if include "tenancy-apiserver.etcdClientSecretName" . }}
    {{- with include "tenancy-apiserver.etcdClientKeys" . | fromJson }}
    - --etcd-cafile=/var/run/tenancy-apiserver/etcd-client/{{ .ca }}
    - --etcd-certfile=/var/run/tenancy-apiserver/etcd-client/{{ .cert }}
    - --etcd-keyfile=/var/run/tenancy-apiserver/etcd-client/{{ .key }}
    {{- end }}
    {{- end }}
    - --leader-elect={{ .Values.leaderElection.enabled }}
    {{- if .Values.leaderElection.enabled }}
    - --leader-elect-resource-namespace={{ .Release.Namespace }}
    - --leader-elect-resource-name={{ include "tenancy-apiserver.fullname" . }}
    - --leader-elect-lease-duration={{ .Values.leaderElection.leaseDuration }}
    - --leader-elect-renew-deadline={{ .Values.leaderElection.renewDeadline }}
    - --leader-elect-retry-period={{ .Values.leaderElection.retryPeriod }}
    {{- end }}
    {{- if .Values.webhook.callerAuth.enabled }}
    - --accountquota-webhook-client-ca-file=/var/run/tenancy-apiserver/webhook-caller/ca.crt
    - --accountquota-webhook-client-name={{ .Values.webhook.callerAuth.clientName }}
    - --admission-control-config-file=/var/run/tenancy-apiserver/webhook-caller-config/admission.yaml
    {{- end }}
    {{- if .Values.sleepMode.auditSink }}
    - --sleep-audit-sink
    {{- end }}
    - --v={{ .Values.logLevel }}
    {{- range .Values.extraArgs }}
    - {{ . | quote }}
    {{- end }}
    {{- if or .Values.goMemLimit .Values.extraEnv }}
    env:
    {{- if .Values.goMemLimit }}
    # The Go runtime collects garbage harder as its memory nears the container's limit,
    # instead of being killed past it; below the limit the collector keeps its defaults.
    - name: GOMEMLIMIT
      valueFrom:
        resourceFieldRef:
          containerName: tenancy-apiserver
          resource: limits.memory
    {{- end }}
    {{- with .Values.extraEnv }}
      {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- end }}
    ports:
    - name: https
      containerPort: {{ .Values.containerPort }}
      protocol: TCP
    startupProbe:
      httpGet:
        path: /livez
        port: https
        scheme: HTTPS
      periodSeconds: {{ .Values.probes.startup.periodSeconds }}
      failureThreshold: {{ .Values.probes.startup.failureThreshold }}
    readinessProbe:
      httpGet:
        path: /readyz
        port: https
        scheme: HTTPS
      periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
      failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
    livenessProbe:
      httpGet:
        path: /livez
        port: https
        scheme: HTTPS
      periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
      failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    volumeMounts:
    {{- if eq .Values.storage.mode "embedded" }}
    - name: data
      mountPath: /var/lib/tenancy-apiserver
    {{- end }}
    - name: serving-cert
      mountPath: /var/run/tenancy-apiserver/serving-cert
      {{- if ne .Values.tls.mode "selfSigned" }}
      readOnly: true
      {{- end }}
    {{- if include "tenancy-apiserver.etcdClientSecretName" . }}
    - name: etcd-client
      mountPath: /var/run/tenancy-apiserver/etcd-client
      readOnly: true
    {{- end }}
    {{- if .Values.webhook.callerAuth.enabled }}
    - name: webhook-caller
      mountPath: /var/run/tenancy-apiserver/webhook-caller
      readOnly: true
    - name: webhook-caller-config
      mountPath: /var/run/tenancy-apiserver/webhook-caller-config
      readOnly: true
    {{- end }}
    - name: tmp
      mountPath: /tmp
  volumes:
  - name: serving-cert
    {{- if eq .Values.tls.mode "selfSigned" }}
    emptyDir: {}
    {{- else }}
    secret:
      secretName: {{ include "tenancy-apiserver.tlsSecretName" . }}
    {{- end }}
  {{- with include "tenancy-apiserver.etcdClientSecretName" . }}
  - name: etcd-client
    secret:
      secretName: {{ . }}
  {{- end }}
  {{- if .Values.webhook.callerAuth.enabled }}
  - name: webhook-caller
    secret:
      secretName: {{ .Values.webhook.callerAuth.secretName }}
  - name: webhook-caller-config
    configMap:
      name: {{ include "tenancy-apiserver.fullname" . }}-webhook-caller
  {{- end }}
  - name: tmp
    emptyDir: {}
{{- end -}}
