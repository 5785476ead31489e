// What the configured Langfuse server is and supports, found out once at start-up and said in one log line: its
// version (`GET /api/public/health`), which observations read it has (v2 on Cloud and self-hosted v4+, the v1
// read on self-hosted v3, which answers 404 to v2), whether the keys are accepted, and whether it has the
// OpenTelemetry endpoint Arbiter's traces go to (self-hosted 3.22 or later). Each problem names the endpoint that
// showed it and the fix. The probe never blocks start-up and never fails it: Langfuse may be down for a while.
//   https://api.reference.langfuse.com/#tag/health/GET/api/public/health
//   https://langfuse.com/integrations/native/opentelemetry (OTLP endpoint; self-hosted >= 3.22.0)
import type { Logger } from '../config/index.ts';
import type { LangfuseClient } from './client.ts';
import { LANGFUSE_OTEL_PATH, langfuseFix } from './errors.ts';
import { type ObservationsApi, rememberObservationsApi } from './observations.ts';

/** What the probe found. */
export interface LangfuseServerInfo {
  /** The server version `GET /api/public/health` reported, when it answered. */
  version?: string;
  /** Which observations read the server has, when the probe could tell. */
  observationsApi?: ObservationsApi;
  /** Whether the OpenTelemetry endpoint exists (undefined: could not tell). */
  otel?: boolean;
  /** Things that will not work, each naming its endpoint and the fix. */
  problems: string[];
}

/** The Langfuse versions Arbiter supports, as the README states them. */
export const SUPPORTED_LANGFUSE =
  'Langfuse Cloud, and self-hosted Langfuse v4 or v3 from 3.22 (v3: observations through the v1 read)';

/** `3.22.1` → [3, 22]; undefined for anything else. */
function majorMinor(version: string | undefined): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Probes the server: health (version), a one-record observations read (v2, then v1 on a 404: this also checks the
 * keys), and an empty OTLP export (checks the OpenTelemetry endpoint without writing anything). The detected
 * observations read is remembered for the client, so monitors start with it.
 */
export async function probeLangfuse(client: LangfuseClient): Promise<LangfuseServerInfo> {
  const info: LangfuseServerInfo = { problems: [] };
  const health = await client.getHealth();
  if (health.ok) info.version = health.value.version;
  else if (health.error.status === 404)
    info.problems.push(
      `GET /api/public/health answered 404: LANGFUSE_BASE_URL does not look like a Langfuse host (give the host, e.g. https://cloud.langfuse.com, without /api)`,
    );
  else {
    // Unreachable or failing: nothing else can be learned now; the reads and writes will say more when they run.
    info.problems.push(health.error.message);
    return info;
  }
  const mm = majorMinor(info.version);
  if (mm && (mm[0] < 3 || (mm[0] === 3 && mm[1] < 22)))
    info.problems.push(
      `Langfuse ${info.version} is not supported (GET /api/public/health): Arbiter needs ${SUPPORTED_LANGFUSE}; upgrade the server`,
    );

  const v2 = await client.getObservations({ limit: 1, fields: 'core' });
  if (v2.ok) info.observationsApi = 'v2';
  else if (v2.error.code === 'LANGFUSE_NOT_FOUND') {
    const v1 = await client.getObservationsV1({ limit: 1 });
    if (v1.ok) info.observationsApi = 'v1';
    else info.problems.push(v1.error.message);
  } else info.problems.push(v2.error.message);
  if (info.observationsApi) rememberObservationsApi(client, info.observationsApi);

  const otel = await client.postOtlp({ resourceSpans: [] });
  // A 2xx with an empty body still proves the endpoint is there.
  if (otel.ok || otel.error.code === 'LANGFUSE_BAD_RESPONSE') info.otel = true;
  else if (otel.error.status === 404) {
    info.otel = false;
    info.problems.push(
      `POST ${LANGFUSE_OTEL_PATH} answered 404: ${langfuseFix(404, LANGFUSE_OTEL_PATH)}; traces and experiment runs cannot be sent`,
    );
  } else if (otel.error.status === 400 || otel.error.status === 415) info.otel = true;
  else if (!info.problems.some((p) => p.includes('LANGFUSE_SECRET_KEY')))
    info.problems.push(otel.error.message);
  return info;
}

/** The start-up line about the server: what it is and what Arbiter will use. */
export function describeLangfuseServer(info: LangfuseServerInfo, baseUrl: string): string {
  const host = baseUrl.replace(/\/+$/, '');
  const what = info.version ? `Langfuse ${info.version} at ${host}` : `Langfuse at ${host}`;
  const reads =
    info.observationsApi === 'v2'
      ? 'observations through GET /api/public/v2/observations'
      : info.observationsApi === 'v1'
        ? 'observations through GET /api/public/observations (no v2 observations: self-hosted v3)'
        : 'observations read: not known yet';
  const writes =
    info.otel === true
      ? `traces through OpenTelemetry (POST ${LANGFUSE_OTEL_PATH})`
      : info.otel === false
        ? 'no OpenTelemetry endpoint: traces cannot be sent'
        : 'OpenTelemetry endpoint: not checked';
  return `${what}: ${reads}; ${writes}; scores through POST /api/public/scores`;
}

/** Probes the server and logs what it found: one info line, and one warning per problem. Never throws. */
export async function announceLangfuseServer(
  client: LangfuseClient,
  baseUrl: string,
  logger: Logger,
): Promise<LangfuseServerInfo> {
  const info = await probeLangfuse(client).catch(
    (err: unknown): LangfuseServerInfo => ({
      problems: [`probing Langfuse failed: ${err instanceof Error ? err.message : String(err)}`],
    }),
  );
  logger.info(
    {
      langfuseVersion: info.version ?? null,
      observationsApi: info.observationsApi ?? null,
      otel: info.otel ?? null,
    },
    describeLangfuseServer(info, baseUrl),
  );
  for (const p of info.problems) logger.warn({ problem: p }, `Langfuse: ${p}`);
  return info;
}
