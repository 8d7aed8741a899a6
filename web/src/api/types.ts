/**
 * Shapes of the backend's JSON API, taken from its OpenAPI schema: `openapi.json` is the
 * backend's committed copy (`make openapi`), `schema.d.ts` is generated from it
 * (`npm run gen:api`; `npm run lint` fails while it is stale). Times are epoch seconds.
 *
 * Response schemas list no `required` fields (marshmallow's dump writes every field), so the
 * generator runs with `--properties-required-by-default`. Where a generated type does not fit,
 * the override below says why.
 */
import type { components } from './schema'

type Schemas = components['schemas']

/** `error.code` of every error body; the classification in `vocabulary.ts` is exhaustive over it. */
export type ErrorCode = Schemas['ErrorBody']['code']

/** Where a background task is; `vocabulary.ts` says which statuses are final. */
export type TaskStatus = Schemas['Task']['status']

export type ApiErrorBody = Schemas['Error']

export type ImageItem = Schemas['Image']
export type ImagePage = Schemas['ImageList']

export type ResolvedUrl = Schemas['ResolvedUrl']
/** A key the batch resolve refused; `key` echoes what was sent (any JSON value). */
export type ResolveErrorItem = Schemas['KeyError']
export type BatchResolveResponse = Schemas['ResolveBatch']

export type TaskProgress = Schemas['Progress']

/**
 * A task as listed. `progress` is overridden: the schema's nullable nested object comes out as
 * `Progress | Record<string, never> | null` (apispec writes `allow_none` on a nested schema as
 * `anyOf` with an empty nullable object), while the backend sends a Progress or null.
 */
export type Task = Omit<Schemas['Task'], 'progress'> & { readonly progress: TaskProgress | null }
export type TaskList = Omit<Schemas['TaskList'], 'items'> & { readonly items: Task[] }

/** Answer of refresh and warm (`202`). */
export type TaskAccepted = Schemas['TaskAccepted']
/** Answer of batch refresh (`202`): also how many distinct keys were queued. */
export type BatchAccepted = Schemas['BatchAccepted']
export type CacheFlushed = Schemas['CacheFlushed']

export type Alert = Schemas['Alert']
export type MonitoringStats = Schemas['Stats']
export type TimeseriesPoint = Schemas['Point']
export type Timeseries = Schemas['Timeseries']
