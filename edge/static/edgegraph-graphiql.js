// Boots the pinned GraphiQL bundle (vendor/, copied from npm at install time) against this gateway.
// Plain browser JavaScript with React.createElement, so serving it needs no build step.
//
// - Requests carry the headers of GraphiQL's headers editor, so what a device would send (an
//   authorization or x-member-id header) reaches the subgraphs the way the gateway propagates it.
// - When the gateway offers plans, every request asks for one (x-edgegraph-include-plan) and the
//   "Query plan" panel shows the plan of the last query run; the result pane stays as the client
//   would see it.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("edgegraph-config").textContent);
  const h = React.createElement;

  let lastPlan = null;
  const planListeners = new Set();
  function publishPlan(plan) {
    lastPlan = plan;
    planListeners.forEach((listener) => listener(plan));
  }

  async function fetcher(params, options) {
    const headers = {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json;q=0.9",
    };
    if (config.includePlan) headers["x-edgegraph-include-plan"] = "true";
    // An empty header is a place left for a value (the token): it is not sent.
    for (const [name, value] of Object.entries((options && options.headers) || {})) {
      if (value !== "") headers[name] = value;
    }
    const response = await fetch(config.endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify(params),
      credentials: "same-origin",
    });
    const body = await response.json();
    // GraphiQL's own schema introspection has no plan; it must not clear the last one.
    if (params.operationName !== "IntrospectionQuery") {
      const extensions = body && body.extensions;
      publishPlan((extensions && extensions.queryPlan) || null);
      if (extensions && "queryPlan" in extensions) {
        delete extensions.queryPlan;
        if (Object.keys(extensions).length === 0) delete body.extensions;
      }
    }
    return body;
  }

  function PlanIcon() {
    return h(
      "svg",
      { viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", strokeWidth: 1.5 },
      h("path", { d: "M4 5h6v4H4zM14 15h6v4h-6zM14 5h6v4h-6zM7 9v8h7M10 7h4" })
    );
  }

  function PlanPanel() {
    const [plan, setPlan] = React.useState(lastPlan);
    React.useEffect(() => {
      planListeners.add(setPlan);
      return () => planListeners.delete(setPlan);
    }, []);
    return h(
      "section",
      { className: "edgegraph-plan", "aria-label": "Query plan" },
      h("div", { className: "graphiql-doc-explorer-title" }, "Query plan"),
      plan
        ? h("pre", { className: "edgegraph-plan-text" }, plan)
        : h("p", null, "Run a query to see how the gateway splits it into subgraph fetches.")
    );
  }

  const tabs = config.tabs || [];
  const plugins = config.includePlan
    ? [{ title: "Query plan", icon: PlanIcon, content: PlanPanel }]
    : [];

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    h(GraphiQL, {
      fetcher,
      plugins,
      // The device teams' operations (clients/), one tab each, when the gateway has them;
      // GraphiQL fills the first tab's headers editor from defaultHeaders, not from the tab.
      defaultTabs: tabs.length ? tabs : undefined,
      defaultHeaders: tabs.length ? tabs[0].headers : config.defaultHeaders,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    })
  );
})();
