export function ExplorePage() {
  return <section><h1>ExplorePage</h1></section>;
}
