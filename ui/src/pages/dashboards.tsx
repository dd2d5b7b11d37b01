export function DashboardListPage() {
  return <section><h1>Dashboards</h1></section>;
}
export function DashboardPage() {
  return <section><h1>Dashboard</h1></section>;
}
