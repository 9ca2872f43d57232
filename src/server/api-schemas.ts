/**
 * The admin API's shapes that the dashboard (web/) reads, as typebox schemas: the routes validate
 * and serialize with them, and the dashboard imports their static types, so both sides agree.
 */
import Type, { type Static, type TSchema } from "typebox";
import { Count, DeviceId, Tag } from "./schemas.ts";

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Role = Type.Union([Type.Literal("admin"), Type.Literal("read-only")]);

export const SignIn = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }) },
  {
    additionalProperties: false,
  },
);
export const SessionInfo = Type.Object({ name: Type.String(), role: Role, csrf: Type.String() });

export const DeviceStatus = Type.Union([
  Type.Literal("pending"),
  Type.Literal("active"),
  Type.Literal("revoked"),
]);

export const DeviceView = Type.Object({
  id: Type.String(),
  status: DeviceStatus,
  tags: Type.Array(Type.String()),
  pin: Nullable(Type.String()),
  version: Nullable(Type.String()),
  state: Nullable(Type.String()),
  failed: Nullable(Type.String()),
  lastSeen: Nullable(Type.String()),
  createdAt: Type.String(),
});

/** GET /projects/:project/devices: filters (all optional, combined with "and") and paging. */
export const DeviceQuery = Type.Object(
  {
    status: Type.Optional(DeviceStatus),
    tag: Type.Optional(Tag),
    /** Device ids containing this (any case). */
    q: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9._:-]{1,128}$" })),
    /** Running this release ("none": never reported one). */
    version: Type.Optional(Type.String({ pattern: "^[0-9A-Za-z.+-]{1,128}$" })),
    /** Reporting this state (trial, good, …). */
    state: Type.Optional(Type.String({ pattern: "^[a-z_]{1,32}$" })),
    /** Seen within this many seconds. */
    seenWithin: Type.Optional(Count),
    /** Not seen for this many seconds (or never). */
    notSeenFor: Type.Optional(Count),
    limit: Type.Optional(Count),
    offset: Type.Optional(Count),
    /** Keyset paging: devices after this id (the `next` of the previous page). */
    after: Type.Optional(DeviceId),
  },
  { additionalProperties: false },
);

export const DeviceList = Type.Object({
  total: Type.Number(),
  devices: Type.Array(DeviceView),
  /** Pass as `after` for the next page; null on the last page. */
  next: Nullable(Type.String()),
});

export const DeviceEventView = Type.Object({
  version: Type.String(),
  event: Type.String(),
  error: Nullable(Type.String()),
  at: Type.String(),
});

export const DeviceDetail = Type.Intersect([
  DeviceView,
  Type.Object({ events: Type.Array(DeviceEventView) }),
]);

export const RolloutHealth = Type.Object({
  reported: Type.Number(),
  failed: Type.Number(),
  confirmed: Type.Number(),
});

export const RolloutView = Type.Object({
  id: Type.String(),
  channel: Type.String(),
  from: Nullable(Type.String()),
  to: Type.String(),
  steps: Type.Array(Type.Number()),
  step: Type.Number(),
  percent: Type.Number(),
  state: Type.String(),
  reason: Nullable(Type.String()),
  minWaitSeconds: Type.Number(),
  failurePercent: Type.Number(),
  minFailures: Type.Number(),
  stepStartedAt: Type.String(),
  createdAt: Type.String(),
  health: RolloutHealth,
  /** Devices of the project that run the rollout's release. */
  devicesOnTarget: Type.Number(),
});

/** GET /projects/:project/overview: the fleet at a glance. */
export const Overview = Type.Object({
  project: Type.String(),
  at: Type.String(),
  devices: Type.Object({
    total: Type.Number(),
    pending: Type.Number(),
    active: Type.Number(),
    revoked: Type.Number(),
    seenLastHour: Type.Number(),
  }),
  /** Devices per release and state they report (devices that never checked in: version null). */
  running: Type.Array(
    Type.Object({ version: Nullable(Type.String()), state: Nullable(Type.String()), devices: Type.Number() }),
  ),
  channels: Type.Array(
    Type.Object({ name: Type.String(), version: Nullable(Type.String()), rollout: Nullable(RolloutView) }),
  ),
  /** Active devices not seen for `staleSeconds` (or never), the longest silent first. */
  stale: Type.Object({
    seconds: Type.Number(),
    total: Type.Number(),
    devices: Type.Array(
      Type.Object({ id: Type.String(), version: Nullable(Type.String()), lastSeen: Nullable(Type.String()) }),
    ),
  }),
  /** Per minute over the last hour: check-ins served and failures reported (failed or rolled back). */
  timeline: Type.Object({
    start: Type.Number(),
    stepSeconds: Type.Number(),
    checkins: Type.Array(Type.Number()),
    failures: Type.Array(Type.Number()),
  }),
});

export const OverviewQuery = Type.Object(
  { staleSeconds: Type.Optional(Count) },
  { additionalProperties: false },
);

/** GET /projects/:project/releases/:version: what a release holds and what its patches save. */
export const ReleaseDetail = Type.Object({
  version: Type.String(),
  sha256: Type.String(),
  size: Type.Number(),
  createdAt: Type.String(),
  rollback: Type.Boolean(),
  keyIds: Type.Array(Type.String()),
  files: Type.Array(
    Type.Object({
      path: Type.String(),
      size: Type.Number(),
      sha256: Type.String(),
      /** Bytes of the whole file as stored and sent (zlib). */
      zlib: Type.Number(),
      patches: Type.Array(Type.Object({ from: Type.String(), size: Type.Number() })),
    }),
  ),
  /**
   * Bytes a device downloads for the whole release, and from the release before it with patches (its
   * update pack, the envelope's patch included, when the server has one).
   */
  wholeBytes: Type.Number(),
  patchedBytes: Nullable(Type.Number()),
  previous: Nullable(Type.String()),
});

/** One server-sent event of GET /api/v1/live: which kinds of things changed. */
export const LiveChange = Type.Object({
  topics: Type.Array(
    Type.Union([
      Type.Literal("devices"),
      Type.Literal("events"),
      Type.Literal("rollouts"),
      Type.Literal("audit"),
    ]),
  ),
});

export type SessionInfo = Static<typeof SessionInfo>;
export type DeviceView = Static<typeof DeviceView>;
export type DeviceQuery = Static<typeof DeviceQuery>;
export type DeviceList = Static<typeof DeviceList>;
export type DeviceDetail = Static<typeof DeviceDetail>;
export type RolloutView = Static<typeof RolloutView>;
export type Overview = Static<typeof Overview>;
export type ReleaseDetail = Static<typeof ReleaseDetail>;
export type LiveChange = Static<typeof LiveChange>;
export type LiveTopic = LiveChange["topics"][number];
