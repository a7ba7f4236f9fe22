/** TLS for every client and listener of iMom: load a validated `tls:` block, describe failures, watch expiry. */
export { loadTls, type LoadedTls, type OwnCertificate } from './load.js';
export { describeTlsFailure, type TlsFailureContext } from './failure.js';
export { certificateExpiry, peerCertificate, certificateSeen, subjectOf, type CertificateSeen } from './certificate.js';
export { NODE_TLS_VERSION, type TlsSettings, type TlsVersionName } from './settings.js';
export { tlsNotices, type PeerCertificateSeen } from './notices.js';
