/*
 * meetings-gateway: boots the vendored GraphiQL without inline script, so the
 * page works under a strict Content-Security-Policy. The page config comes from
 * <script type="application/json" id="graphiql-config">{"endpoint": ..., "defaultQuery": ...}</script>.
 */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('graphiql-config').textContent);

  function parseBody(response) {
    return response.text().then(function (text) {
      try {
        return JSON.parse(text);
      } catch (_error) {
        return { errors: [{ message: 'HTTP ' + response.status + ': ' + text }] };
      }
    });
  }

  function fetcher(params, options) {
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    var extra = (options && options.headers) || {};
    Object.keys(extra).forEach(function (name) {
      headers[name] = extra[name];
    });
    return fetch(config.endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'same-origin'
    }).then(parseBody);
  }

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()]
    })
  );
})();
