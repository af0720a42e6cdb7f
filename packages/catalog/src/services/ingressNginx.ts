// ingress-nginx: the controller (unprivileged ports, restricted), its LoadBalancer Service, the
// default IngressClass `nginx`, RBAC as upstream's chart grants it, and optionally the validating
// admission webhook with the certgen Jobs that make its certificate. The webhook is off in the
// built-in catalog: KaaS's own API server does not call admission webhooks, and on a real
// kube-apiserver a webhook whose certificate is not yet made would refuse every Ingress.
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { IngressClass } from 'kubernetes-models/networking.k8s.io/v1/IngressClass';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import type { KObject } from '@kaas/apiserver';
import { imageOf } from '../versions.ts';
import { appLabels, plain, resources, restrictedContainer, restrictedPod, selectorLabels } from '../kube.ts';
import { eksIngressNamespace, namespaceObject } from '../namespaces.ts';
import type { RenderContext, ServiceModule } from '../types.ts';

const name = 'ingress-nginx';
const controller = 'ingress-nginx-controller';
export const ingressClassName = 'nginx';

export interface IngressNginxOptions {
  /** Render the validating admission webhook and its certgen Jobs (default false; see the file comment). */
  admissionWebhook?: boolean;
}

function webhookObjects(ctx: RenderContext, labels: Record<string, string>): KObject[] {
  const { namespace, release } = ctx;
  const admission = 'ingress-nginx-admission';
  const certgen = (job: string, args: string[]) =>
    plain(
      new Job({
        metadata: { name: `${admission}-${job}-${release.version.replaceAll('.', '-')}`, namespace, labels },
        spec: {
          ttlSecondsAfterFinished: 3600,
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: admission,
              restartPolicy: 'OnFailure',
              securityContext: restrictedPod(65532),
              containers: [
                {
                  name: job,
                  image: imageOf(release, 'certgen'),
                  args,
                  env: [
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  ],
                  resources: resources('10m', '20Mi', '64Mi'),
                  securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                },
              ],
            },
          },
        },
      }),
    );
  return [
    plain(new ServiceAccount({ metadata: { name: admission, namespace, labels } })),
    plain(
      new ClusterRole({
        metadata: { name: `kaas:${admission}`, labels },
        rules: [
          {
            apiGroups: ['admissionregistration.k8s.io'],
            resources: ['validatingwebhookconfigurations'],
            verbs: ['get', 'update'],
          },
        ],
      }),
    ),
    plain(
      new ClusterRoleBinding({
        metadata: { name: `kaas:${admission}`, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `kaas:${admission}` },
        subjects: [{ kind: 'ServiceAccount', name: admission, namespace }],
      }),
    ),
    plain(
      new Role({
        metadata: { name: admission, namespace, labels },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] }],
      }),
    ),
    plain(
      new RoleBinding({
        metadata: { name: admission, namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: admission },
        subjects: [{ kind: 'ServiceAccount', name: admission, namespace }],
      }),
    ),
    certgen('create', [
      'create',
      `--host=${controller}-admission,${controller}-admission.$(POD_NAMESPACE).svc`,
      '--namespace=$(POD_NAMESPACE)',
      `--secret-name=${admission}`,
    ]),
    certgen('patch', [
      'patch',
      `--webhook-name=kaas-${admission}`,
      '--namespace=$(POD_NAMESPACE)',
      '--patch-mutating=false',
      `--secret-name=${admission}`,
      '--patch-failure-policy=Fail',
    ]),
    plain(
      new Service({
        metadata: { name: `${controller}-admission`, namespace, labels },
        spec: {
          selector: selectorLabels(name, 'controller'),
          ports: [{ name: 'https-webhook', port: 443, targetPort: 'webhook' }],
        },
      }),
    ),
    plain(
      new ValidatingWebhookConfiguration({
        metadata: { name: `kaas-${admission}`, labels },
        webhooks: [
          {
            name: 'validate.nginx.ingress.kubernetes.io',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            // Ignore until certgen's patch Job sets Fail with the CA: no Ingress is refused meanwhile
            failurePolicy: 'Ignore',
            matchPolicy: 'Equivalent',
            rules: [
              {
                apiGroups: ['networking.k8s.io'],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['ingresses'],
              },
            ],
            clientConfig: {
              service: { namespace, name: `${controller}-admission`, path: '/networking/v1/ingresses' },
            },
          },
        ],
      }),
    ),
  ];
}

export function ingressNginxModule(o: IngressNginxOptions = {}): ServiceModule {
  return {
    key: 'ingressNginx',
    render(ctx) {
      const { namespace, release, cluster } = ctx;
      const labels = appLabels(name, 'controller', release.version);
      const eks = cluster.spec.provider.type === 'eks';
      const objects: KObject[] = [];
      if (namespace === eksIngressNamespace) objects.push(namespaceObject(namespace));
      const webhookVolume = o.admissionWebhook
        ? { volumes: [{ name: 'webhook-cert', secret: { secretName: 'ingress-nginx-admission' } }] }
        : {};
      objects.push(
        plain(new ServiceAccount({ metadata: { name, namespace, labels } })),
        plain(
          new ClusterRole({
            metadata: { name: `kaas:${name}`, labels },
            rules: [
              {
                apiGroups: [''],
                resources: ['configmaps', 'endpoints', 'nodes', 'pods', 'secrets', 'namespaces'],
                verbs: ['list', 'watch'],
              },
              { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list', 'watch'] },
              { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
              { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
              {
                apiGroups: ['networking.k8s.io'],
                resources: ['ingresses', 'ingressclasses'],
                verbs: ['get', 'list', 'watch'],
              },
              { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
              { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
              {
                apiGroups: ['discovery.k8s.io'],
                resources: ['endpointslices'],
                verbs: ['list', 'watch', 'get'],
              },
            ],
          }),
        ),
        plain(
          new ClusterRoleBinding({
            metadata: { name: `kaas:${name}`, labels },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `kaas:${name}` },
            subjects: [{ kind: 'ServiceAccount', name, namespace }],
          }),
        ),
        plain(
          new Role({
            metadata: { name, namespace, labels },
            rules: [
              { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
              {
                apiGroups: [''],
                resources: ['configmaps', 'pods', 'secrets', 'endpoints'],
                verbs: ['get', 'list', 'watch'],
              },
              { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
              {
                apiGroups: ['networking.k8s.io'],
                resources: ['ingresses', 'ingressclasses'],
                verbs: ['get', 'list', 'watch'],
              },
              {
                apiGroups: ['coordination.k8s.io'],
                resources: ['leases'],
                resourceNames: ['ingress-nginx-leader'],
                verbs: ['get', 'update'],
              },
              { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
              { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
              {
                apiGroups: ['discovery.k8s.io'],
                resources: ['endpointslices'],
                verbs: ['list', 'watch', 'get'],
              },
            ],
          }),
        ),
        plain(
          new RoleBinding({
            metadata: { name, namespace, labels },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
            subjects: [{ kind: 'ServiceAccount', name, namespace }],
          }),
        ),
        plain(
          new ConfigMap({
            metadata: { name: controller, namespace, labels },
            data: {
              // snippets let an Ingress author inject nginx configuration: off, as upstream now defaults
              'allow-snippet-annotations': 'false',
              'annotations-risk-level': 'Critical',
              'use-forwarded-headers': eks ? 'true' : 'false',
            },
          }),
        ),
        plain(
          new IngressClass({
            metadata: {
              name: ingressClassName,
              labels,
              annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
            },
            spec: { controller: 'k8s.io/ingress-nginx' },
          }),
        ),
        plain(
          new Deployment({
            metadata: { name: controller, namespace, labels },
            spec: {
              replicas: 1,
              revisionHistoryLimit: 5,
              selector: { matchLabels: selectorLabels(name, 'controller') },
              template: {
                metadata: { labels },
                spec: {
                  serviceAccountName: name,
                  terminationGracePeriodSeconds: 300,
                  // 101 is the image's www-data
                  securityContext: restrictedPod(101, 82),
                  containers: [
                    {
                      name: 'controller',
                      image: imageOf(release, 'controller'),
                      args: [
                        '/nginx-ingress-controller',
                        `--publish-service=$(POD_NAMESPACE)/${controller}`,
                        '--election-id=ingress-nginx-leader',
                        '--controller-class=k8s.io/ingress-nginx',
                        `--ingress-class=${ingressClassName}`,
                        `--configmap=$(POD_NAMESPACE)/${controller}`,
                        // unprivileged ports: no NET_BIND_SERVICE; the Service maps 80/443 to them
                        '--http-port=8080',
                        '--https-port=8443',
                        '--watch-ingress-without-class=true',
                        ...(o.admissionWebhook
                          ? [
                              '--validating-webhook=:8444',
                              '--validating-webhook-certificate=/usr/local/certificates/cert',
                              '--validating-webhook-key=/usr/local/certificates/key',
                            ]
                          : []),
                      ],
                      env: [
                        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                        {
                          name: 'POD_NAMESPACE',
                          valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
                        },
                        { name: 'LD_PRELOAD', value: '/usr/local/lib/libmimalloc.so' },
                      ],
                      ports: [
                        { name: 'http', containerPort: 8080 },
                        { name: 'https', containerPort: 8443 },
                        { name: 'metrics', containerPort: 10254 },
                        ...(o.admissionWebhook ? [{ name: 'webhook', containerPort: 8444 }] : []),
                      ],
                      readinessProbe: { httpGet: { path: '/healthz', port: 10254 }, periodSeconds: 10 },
                      livenessProbe: {
                        httpGet: { path: '/healthz', port: 10254 },
                        periodSeconds: 10,
                        failureThreshold: 5,
                      },
                      resources: resources('100m', '90Mi', '512Mi'),
                      // nginx.conf and the Lua caches are rewritten in the image's own filesystem:
                      // upstream's chart keeps it writable too
                      securityContext: restrictedContainer({ readOnlyRootFilesystem: false }),
                      ...(o.admissionWebhook
                        ? {
                            volumeMounts: [
                              { name: 'webhook-cert', mountPath: '/usr/local/certificates/', readOnly: true },
                            ],
                          }
                        : {}),
                    },
                  ],
                  ...webhookVolume,
                },
              },
            },
          }),
        ),
        plain(
          new Service({
            metadata: {
              name: controller,
              namespace,
              labels,
              ...(eks ? { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } } : {}),
            },
            spec: {
              type: 'LoadBalancer',
              externalTrafficPolicy: 'Local',
              selector: selectorLabels(name, 'controller'),
              ports: [
                { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
                { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
              ],
            },
          }),
        ),
        plain(
          new Service({
            metadata: { name: `${controller}-metrics`, namespace, labels },
            spec: {
              selector: selectorLabels(name, 'controller'),
              ports: [{ name: 'metrics', port: 10254, targetPort: 'metrics' }],
            },
          }),
        ),
      );
      if (o.admissionWebhook) objects.push(...webhookObjects(ctx, labels));
      return {
        objects,
        readiness: [
          { type: 'endpoints', namespace, service: controller },
          { type: 'loadBalancer', namespace, service: controller },
        ],
      };
    },
  };
}
