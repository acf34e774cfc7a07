export { createHostCapabilities, type HostCapabilitiesOptions } from './host-capabilities.js';
export { createCallbackHandler, type CallbackHandlerOptions } from './handler.js';
export {
  hostCapabilityPatternError,
  isCapabilityAllowed,
  isResourceAllowed,
  capabilityDeniedMessage,
  resourceDeniedMessage,
} from './grant.js';
export {
  recordingCallbackHandler,
  recordingHostCapabilities,
  replayingCallbackHandler,
  replayingHostCapabilities,
  type RecordingHostCapabilities,
  type ReplayingHostCapabilities,
} from './record-replay.js';
export { formatSession, parseSession, type SessionExchange } from './session.js';
export type { CallbackRequest, CallbackRequestType } from './callback-request.js';
export type { HostResolver } from './dns.js';
export type { OciOptions } from './oci.js';
export type * from './types.js';
