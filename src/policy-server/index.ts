export {
  createPolicyServer,
  type CloseOptions,
  type ListeningAddress,
  type PolicyServer,
  type PolicyServerOptions,
  type PolicyServerState,
} from './server.js';
export {
  createPolicyServerConfig,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type PolicyServerConfig,
  type PolicyServerConfigInput,
  type TlsFiles,
} from './config.js';
export {
  createPolicyServerMetrics,
  EVALUATION_LABELS,
  EVALUATION_LATENCY,
  EVALUATIONS_TOTAL,
  LATENCY_BUCKETS_MS,
  type PolicyServerMetrics,
} from './metrics.js';
export {
  installShutdownHandlers,
  type Closable,
  type ShutdownOptions,
  type SignalSource,
} from './shutdown.js';
export {
  followPoliciesConfigMap,
  parseConfigMapRef,
  POLICIES_KEY,
  WAIT_LOG_INTERVAL_MS,
  watchPoliciesConfigMap,
  type ConfigMapRef,
  type PoliciesConfigMap,
  type PoliciesConfigMapOptions,
  type PolicyApplier,
} from './config-map-policies.js';
export {
  policiesStatus,
  type PoliciesStatus,
  type PolicySourceStatus,
  type PolicyStatusProvider,
} from './policies-status.js';
