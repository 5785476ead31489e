// Public surface of audit/: the append-only audit trail (who did what, when, from where).
export {
  AUDIT_OBJECT_TYPES,
  type AuditActor,
  type AuditEntry,
  type AuditLog,
  type AuditObjectType,
  type AuditQuery,
  type AuditRecord,
  clickActor,
  cliActor,
  createAuditLog,
  describeVia,
  recordAudit,
  SYSTEM_ACTOR,
} from './log.ts';
