import { z } from 'zod';

/**
 * One record of Kafka Connect's offsets topic, as MirrorMaker 2's source connector writes it
 * (JsonConverter without schemas):
 *   key   ["MirrorSourceConnector",{"cluster":"dc1","partition":0,"topic":"web"}]
 *   value {"offset":9}   (null: a tombstone, the offset was reset)
 * The offset is that of the LAST source record replicated, not the next one to read as a consumer
 * group commits: a caught-up partition of a source whose end offset is 10 stores 9.
 */
const keySchema = z.tuple([
  z.string(),
  z.looseObject({ cluster: z.string(), topic: z.string(), partition: z.number().int().nonnegative() }),
]);
const valueSchema = z.looseObject({ offset: z.number().int().min(-1) });

export interface MirrorOffset {
  topic: string;
  partition: number;
  /** Offset of the last replicated record; null when the record is a tombstone. */
  offset: bigint | null;
}

function json(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The source position in one offsets-topic record, or undefined when the record is not the
 * given connector's for the given source cluster alias (other connectors share the topic) or does
 * not parse (skipped, like Connect itself skips an undecodable record).
 */
export function parseMirrorOffset(key: Buffer | null, value: Buffer | null, connector: string, sourceAlias: string): MirrorOffset | undefined {
  if (!key) return undefined;
  const k = keySchema.safeParse(json(key));
  if (!k.success || k.data[0] !== connector || k.data[1].cluster !== sourceAlias) return undefined;
  const { topic, partition } = k.data[1];
  if (value === null || value.length === 0) return { topic, partition, offset: null };
  const v = valueSchema.safeParse(json(value));
  if (!v.success) return undefined;
  return { topic, partition, offset: BigInt(v.data.offset) };
}

/** Lag of one partition from MM2's stored offset (last record replicated) and the source's end offset. */
export function mirrorPartitionLag(end: bigint, stored: bigint): number {
  const next = stored + 1n;
  return end > next ? Number(end - next) : 0;
}
