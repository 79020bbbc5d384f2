/**
 * Several server nodes over one PostgreSQL (docs/scale.md): the fan-out between them and
 * the notices it sends. The store itself is the PostgreSQL log store (../store).
 */
export { ClusterFanout, type ClusterHost, type ClusterRoom, type FanoutOptions } from './fanout.js';
export { NotifyListener, type ListenerOptions } from './notify-listener.js';
export { COMMIT_CHANNEL, PRESENCE_CHANNEL, ACCESS_CHANNEL, encodeNotice, decodeNotice, type Notice } from './cluster-notice.js';
