export function CatalogPage() {
  return <section><h1>Catalogue</h1></section>;
}
export function CatalogTablePage() {
  return <section><h1>Table</h1></section>;
}
