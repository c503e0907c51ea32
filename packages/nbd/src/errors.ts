/**
 * Error codes of @guestkit/nbd (server set-up and connection failures). Protocol errors sent to
 * clients are NBD errno values (protocol.ts), not exceptions.
 */
export const NbdCode = {
  /** The server could not listen (address in use, permission denied, socket path exists). */
  ListenFailed: 'NBD_LISTEN_FAILED',
  /** An export definition is invalid (duplicate or over-long name, no exports). */
  BadExport: 'NBD_BAD_EXPORT',
  /** The peer closed the connection (internal: ends a connection's loop). */
  Disconnected: 'NBD_DISCONNECTED',
  /** The peer broke the protocol badly enough that the connection was dropped. */
  ProtocolViolation: 'NBD_PROTOCOL_VIOLATION',
} as const;
