/** The operator's dashboard: sign-in, then one page per concern, switched by the URL's #fragment. */
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { SessionInfo } from "../../src/server/api-schemas.ts";
import { api, currentSession, signOut, whenSignedOut } from "./api.ts";
import { useData } from "./data.ts";
import { startLive, stopLive, useLiveConnected } from "./live.ts";
import { AuditPage } from "./pages/audit.tsx";
import { DevicePage } from "./pages/device.tsx";
import { DevicesPage } from "./pages/devices.tsx";
import { FleetPage } from "./pages/fleet.tsx";
import { ReleasesPage } from "./pages/releases.tsx";
import { RolloutsPage } from "./pages/rollouts.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { TokensPage } from "./pages/tokens.tsx";
import { Loading, Problem } from "./ui.tsx";

export interface PageProps {
  project: string;
  /** Whether this session may write (role admin); read-only sessions see no write controls. */
  canWrite: boolean;
  /** What follows the page's name in the URL (#/devices/ID → "ID"). */
  arg: string;
}

const PAGES = [
  { path: "fleet", title: "Fleet", page: FleetPage },
  { path: "devices", title: "Devices", page: DevicesPage },
  { path: "releases", title: "Releases", page: ReleasesPage },
  { path: "rollouts", title: "Rollouts", page: RolloutsPage },
  { path: "audit", title: "Audit log", page: AuditPage },
  { path: "tokens", title: "Tokens", page: TokensPage },
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return hash;
}

function Shell({ session, onSignedOut }: { session: SessionInfo; onSignedOut: () => void }) {
  const hash = useHash();
  const [, name = "fleet", ...rest] = hash.replace(/^#/, "").split("/");
  const arg = rest.map(decodeURIComponent).join("/");
  const projects = useData(() => api<{ projects: { name: string }[] }>("GET", "/projects"), [], ["audit"]);
  const [project, setProject] = useState(() => sessionStorage.getItem("mpota.project") ?? "");
  const live = useLiveConnected();
  const names = projects.data?.projects.map((p) => p.name) ?? [];
  const current = names.includes(project) ? project : (names[0] ?? "");
  const page = name === "device" ? undefined : (PAGES.find((p) => p.path === name) ?? PAGES[0]!);
  const title = page ? page.title : "Device";
  useEffect(() => {
    document.title = `${title} · mpota`;
  }, [title]);
  const chooseProject = (value: string) => {
    sessionStorage.setItem("mpota.project", value);
    setProject(value);
  };
  const props: PageProps = { project: current, canWrite: session.role === "admin", arg };
  return (
    <>
      <header>
        <span class="brand">mpota</span>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a
              key={p.path}
              href={`#/${p.path}`}
              aria-current={p === page || (!page && p.path === "devices") ? "page" : undefined}
            >
              {p.title}
            </a>
          ))}
        </nav>
        <label class="project">
          Project{" "}
          <select value={current} onChange={(e) => chooseProject(e.currentTarget.value)}>
            {names.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <span class={live ? "live on" : "live"} title="live updates">
          {live ? "live" : "offline"}
        </span>
        <span class="who">
          {session.name} ({session.role})
        </span>
        <button
          type="button"
          onClick={async () => {
            await signOut().catch(() => {});
            onSignedOut();
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <h1>{title}</h1>
        <Problem error={projects.error} />
        {!projects.data ? (
          <Loading />
        ) : names.length === 0 && page?.path !== "tokens" && page?.path !== "audit" ? (
          <p>
            No projects yet: create one with <code>mpota project add NAME</code>.
          </p>
        ) : page ? (
          <page.page {...props} />
        ) : (
          <DevicePage {...props} />
        )}
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [error, setError] = useState<string>();
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    currentSession().then(
      (s) => setSession(s ?? null),
      (err: unknown) => setError((err as Error).message),
    );
  }, []);
  useEffect(() => {
    if (session) startLive();
    else stopLive();
  }, [session]);
  if (error) return <Problem error={error} />;
  if (session === undefined) return <Loading />;
  if (session === null) return <SignInPage onSignedIn={setSession} />;
  return <Shell session={session} onSignedOut={() => setSession(null)} />;
}

render(<App />, document.getElementById("app")!);
