/**
 * The id of a new row: a UUIDv7 (RFC 9562), time-ordered, from the `uuid`
 * package. Rows written together get neighbouring keys, so a B-tree index on
 * the id (a primary key, the inbox's event ids) grows at its right edge instead
 * of splitting pages all over: smaller and faster to insert into than random
 * v4 ids (measured in docs/measurements.md, "Ids"). Still unique without
 * coordination, and still a uuid to Postgres.
 */
import { v7 } from "uuid";

export const newId = (): string => v7();
