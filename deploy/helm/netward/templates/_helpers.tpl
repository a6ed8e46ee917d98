{{/*
Shared pieces. Each component template calls them with (dict "root" $ "name" "<component>" "v" <values>),
so the MCP server, the broker and the TACACS+ server get the same labels, security context, disruption
budget and autoscaler without three copies.
*/}}

{{- define "netward.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one component's objects: <release>-netward-<component>. */}}
{{- define "netward.component" -}}
{{- printf "%s-%s" (include "netward.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "netward.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "netward.labels" -}}
{{ include "netward.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "netward.image" -}}
{{- $tag := .v.image.tag | default .root.Chart.AppVersion -}}
{{- if .v.image.digest -}}
{{- printf "%s@%s" .v.image.repository .v.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .v.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Pod-level hardening: a fixed unprivileged uid, RuntimeDefault seccomp. */}}
{{- define "netward.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .root.Values.runAsUser }}
runAsGroup: {{ .root.Values.runAsGroup }}
fsGroup: {{ .root.Values.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level hardening: read-only root file system, no privilege escalation, no capability. */}}
{{- define "netward.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Scheduling and pod-wide settings every component shares. */}}
{{- define "netward.podCommon" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- include "netward.podSecurityContext" . | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "netward.pdb" -}}
{{- if .v.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "netward.component" . }}
  labels:
    {{- include "netward.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .v.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "netward.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{- define "netward.hpa" -}}
{{- if .v.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "netward.component" . }}
  labels:
    {{- include "netward.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "netward.component" . }}
  minReplicas: {{ .v.autoscaling.minReplicas }}
  maxReplicas: {{ .v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .v.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{- define "netward.service" -}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "netward.component" . }}
  labels:
    {{- include "netward.labels" . | nindent 4 }}
spec:
  type: {{ .v.service.type }}
  selector:
    {{- include "netward.selectorLabels" . | nindent 4 }}
  ports:
    - name: {{ .portName }}
      port: {{ .v.service.port }}
      targetPort: {{ .portName }}
      protocol: TCP
{{- end -}}

{{/* Deployment metadata and replica count: no replicas field when the autoscaler owns it. */}}
{{- define "netward.deploymentHead" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "netward.component" . }}
  labels:
    {{- include "netward.labels" . | nindent 4 }}
spec:
  {{- if not .v.autoscaling.enabled }}
  replicas: {{ .v.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "netward.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* Egress rules every component needs: DNS. */}}
{{- define "netward.egressDns" -}}
- to:
    {{- toYaml .root.Values.dns.to | nindent 4 }}
  ports:
    {{- toYaml .root.Values.dns.ports | nindent 4 }}
{{- end -}}

{{/* An egress rule from {to, ports}. */}}
{{- define "netward.egressRule" -}}
- to:
    {{- toYaml .to | nindent 4 }}
  ports:
    {{- toYaml .ports | nindent 4 }}
{{- end -}}

{{/* The in-memory directory secrets are copied into with mode 0600 (see secretCopy). */}}
{{- define "netward.secretCopy" -}}
- name: copy-secrets
  image: {{ include "netward.image" . }}
  imagePullPolicy: {{ .v.image.pullPolicy }}
  # Secret volumes are root-owned and group-readable under fsGroup; the services refuse key files that
  # the group may read (as sshd does), so each file is copied to a tmpfs with mode 0600, owned by the
  # service's uid. Node is the only program the image is sure to have.
  command:
    - node
    - -e
    - |
      const fs = require('node:fs');
      for (const name of fs.readdirSync('/etc/netward/secret-source')) {
        if (name.startsWith('.')) continue;
        fs.copyFileSync(`/etc/netward/secret-source/${name}`, `/run/netward/secrets/${name}`);
        fs.chmodSync(`/run/netward/secrets/${name}`, 0o600);
      }
  securityContext:
    {{- include "netward.containerSecurityContext" . | nindent 4 }}
  resources:
    requests: { cpu: 10m, memory: 32Mi }
    limits: { cpu: 100m, memory: 64Mi }
  volumeMounts:
    - { name: secret-source, mountPath: /etc/netward/secret-source, readOnly: true }
    - { name: secrets, mountPath: /run/netward/secrets }
{{- end -}}
