import { isJsonObject, type JsonObject, type JsonValue } from '../../shared/admission.js';
import { PayloadError, readFields, readValue, type FieldType, type Fields } from './schema.js';

const optString: FieldType = { optional: 'string' };
const optStringSet: FieldType = { optional: { set: 'string' } };
const annotations: FieldType = { optional: { map: 'string' } };
const certificate: FieldType = {
  struct: [
    ['encoding', { oneOf: ['Der', 'Pem'] }],
    ['data', 'bytes'],
  ],
};

/**
 * Kubewarden's `CallbackRequestType` (policy-evaluator `callback_requests.rs`): what a host call
 * asks for once its payload is parsed. Field names and order are Kubewarden's, because kwctl
 * session files store these structs and must replay in both tools.
 */
export const CALLBACK_REQUEST_FIELDS = {
  OciManifestDigest: [['image', 'string']],
  OciManifest: [['image', 'string']],
  OciManifestAndConfig: [['image', 'string']],
  SigstorePubKeyVerify: [
    ['image', 'string'],
    ['pub_keys', { list: 'string' }],
    ['annotations', annotations],
  ],
  SigstoreKeylessVerify: [
    ['image', 'string'],
    [
      'keyless',
      {
        list: {
          struct: [
            ['issuer', 'string'],
            ['subject', 'string'],
          ],
        },
      },
    ],
    ['annotations', annotations],
  ],
  SigstoreKeylessPrefixVerify: [
    ['image', 'string'],
    [
      'keyless_prefix',
      {
        list: {
          struct: [
            ['issuer', 'string'],
            ['url_prefix', 'string'],
          ],
        },
      },
    ],
    ['annotations', annotations],
  ],
  SigstoreGithubActionsVerify: [
    ['image', 'string'],
    ['owner', 'string'],
    ['repo', optString],
    ['annotations', annotations],
  ],
  SigstoreCertificateVerify: [
    ['image', 'string'],
    ['certificate', 'bytes'],
    ['certificate_chain', { optional: { list: 'bytes' } }],
    ['require_rekor_bundle', 'bool'],
    ['annotations', annotations],
  ],
  DNSLookupHost: [['host', 'string']],
  KubernetesListResourceNamespace: [
    ['api_version', 'string'],
    ['kind', 'string'],
    ['namespace', 'string'],
    ['label_selector', optString],
    ['field_selector', optString],
    ['field_masks', optStringSet],
  ],
  KubernetesListResourceAll: [
    ['api_version', 'string'],
    ['kind', 'string'],
    ['label_selector', optString],
    ['field_selector', optString],
    ['field_masks', optStringSet],
  ],
  KubernetesGetResource: [
    ['api_version', 'string'],
    ['kind', 'string'],
    ['name', 'string'],
    ['namespace', optString],
    ['disable_cache', 'bool'],
    ['field_masks', optStringSet],
  ],
  KubernetesCanI: [
    [
      'request',
      {
        struct: [
          ['groups', { optional: { list: 'string' } }],
          [
            'resource_attributes',
            {
              struct: [
                ['group', optString],
                ['name', optString],
                ['namespace', optString],
                ['resource', 'string'],
                ['subresource', optString],
                ['verb', 'string'],
                ['version', optString],
              ],
            },
          ],
          ['user', 'string'],
        ],
      },
    ],
    ['disable_cache', 'bool'],
  ],
  CryptoIsCertificateTrusted: [
    [
      'request',
      {
        struct: [
          ['cert', certificate],
          ['cert_chain', { optional: { list: certificate } }],
          ['not_after', 'nonEmptyStringOrNull'],
        ],
      },
    ],
  ],
} as const satisfies Record<string, Fields>;

export type CallbackRequestType = keyof typeof CALLBACK_REQUEST_FIELDS;

export function isCallbackRequestType(name: string): name is CallbackRequestType {
  return Object.hasOwn(CALLBACK_REQUEST_FIELDS, name);
}

/** A parsed host call: the Kubewarden variant name and its fields, normalised by the schema. */
export interface CallbackRequest {
  readonly type: CallbackRequestType;
  readonly fields: JsonObject;
}

/** Reads a variant's fields from a JSON object (payload or session file). */
export function readCallbackRequest(
  type: CallbackRequestType,
  object: JsonValue,
  path = '',
): CallbackRequest {
  const fields: Fields = CALLBACK_REQUEST_FIELDS[type];
  if (!isJsonObject(object)) throw new PayloadError(`invalid type: expected struct ${type}`);
  return { type, fields: readFields(fields, object, path) };
}

function parseV1Verify(value: JsonValue): CallbackRequest {
  const variants = ['SigstorePubKeyVerify', 'SigstoreKeylessVerify'] as const;
  if (!isJsonObject(value)) throw new PayloadError('invalid type: expected enum');
  const keys = Object.keys(value);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) {
    throw new PayloadError('invalid type: expected an enum with exactly one variant key');
  }
  const variant = variants.find((v) => v === key);
  if (variant === undefined) {
    throw new PayloadError(
      `unknown variant \`${key}\`, expected \`SigstorePubKeyVerify\` or \`SigstoreKeylessVerify\``,
    );
  }
  return readCallbackRequest(variant, value[key] ?? null);
}

function parseV2Verify(value: JsonValue): CallbackRequest {
  const variants = [
    'SigstorePubKeyVerify',
    'SigstoreKeylessVerify',
    'SigstoreKeylessPrefixVerify',
    'SigstoreGithubActionsVerify',
    'SigstoreCertificateVerify',
  ] as const;
  if (!isJsonObject(value)) throw new PayloadError('invalid type: expected internally tagged enum');
  const tag = value['type'];
  if (tag === undefined) throw new PayloadError('missing field `type`');
  const variant = variants.find((v) => v === tag);
  if (variant === undefined) {
    const expected = variants.map((v) => `\`${v}\``).join(', ');
    throw new PayloadError(`unknown variant ${JSON.stringify(tag)}, expected one of ${expected}`);
  }
  return readCallbackRequest(variant, value);
}

function stringRequest(
  type: CallbackRequestType,
  field: string,
  value: JsonValue,
): CallbackRequest {
  return { type, fields: { [field]: readValue('string', value, '') } };
}

function wrapped(type: CallbackRequestType, inner: FieldType, value: JsonValue): CallbackRequest {
  return { type, fields: { request: readValue(inner, value, '') } };
}

const canIPayload: Fields = [
  ['subject_access_review', CALLBACK_REQUEST_FIELDS.KubernetesCanI[0][1]],
  ['disable_cache', 'bool'],
];

/**
 * The operations Palisade knows, by `<namespace>/<operation>`, each turning the decoded JSON
 * payload into the request Kubewarden would queue. Unknown paths are the dispatcher's business.
 */
export const PAYLOAD_PARSERS: Readonly<Record<string, (payload: JsonValue) => CallbackRequest>> = {
  'oci/v1/verify': parseV1Verify,
  'oci/v2/verify': parseV2Verify,
  'oci/v1/manifest_digest': (p) => stringRequest('OciManifestDigest', 'image', p),
  'oci/v1/oci_manifest': (p) => stringRequest('OciManifest', 'image', p),
  'oci/v1/oci_manifest_config': (p) => stringRequest('OciManifestAndConfig', 'image', p),
  'net/v1/dns_lookup_host': (p) => stringRequest('DNSLookupHost', 'host', p),
  'crypto/v1/is_certificate_trusted': (p) =>
    wrapped(
      'CryptoIsCertificateTrusted',
      CALLBACK_REQUEST_FIELDS.CryptoIsCertificateTrusted[0][1],
      p,
    ),
  'kubernetes/list_resources_by_namespace': (p) =>
    readCallbackRequest('KubernetesListResourceNamespace', p),
  'kubernetes/list_resources_all': (p) => readCallbackRequest('KubernetesListResourceAll', p),
  'kubernetes/get_resource': (p) => readCallbackRequest('KubernetesGetResource', p),
  'kubernetes/can_i': (p) => {
    if (!isJsonObject(p)) throw new PayloadError('invalid type: expected struct CanIRequest');
    const read = readFields(canIPayload, p, '');
    return {
      type: 'KubernetesCanI',
      fields: {
        request: read['subject_access_review'] ?? null,
        disable_cache: read['disable_cache'] ?? false,
      },
    };
  },
};

/** The namespaces the dispatcher recognises (besides `tracing`), for "unknown namespace" errors. */
export const KNOWN_NAMESPACES: ReadonlySet<string> = new Set(
  Object.keys(PAYLOAD_PARSERS).map((path) => path.slice(0, path.indexOf('/'))),
);
