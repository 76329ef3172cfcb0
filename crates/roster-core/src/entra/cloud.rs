//! Where the client secret and Graph's access tokens may go: Microsoft's sign-in and Graph
//! hosts of the national clouds roster documents (docs/entra.md), or a loopback address (the
//! Graph emulator). `entra.login_url` receives the client secret and `entra.graph_url` every
//! access token, and roster.yaml is edited by pull requests: a host outside this table would
//! be handed both before anyone reviewed the edit.
//!
//! Pure: the URL is read with the `url` parser, nothing is resolved or fetched.

use crate::urls::is_loopback;

/// One of Microsoft's clouds: its sign-in hosts and its Graph hosts.
#[derive(Debug, PartialEq, Eq)]
pub struct Cloud {
    pub name: &'static str,
    pub login_hosts: &'static [&'static str],
    pub graph_hosts: &'static [&'static str],
}

/// Microsoft's national cloud deployments (Microsoft Graph's "National cloud deployments"
/// page). Microsoft Cloud Deutschland closed in 2021 and is not listed.
pub const CLOUDS: &[Cloud] = &[
    Cloud {
        name: "global",
        login_hosts: &["login.microsoftonline.com"],
        graph_hosts: &["graph.microsoft.com"],
    },
    Cloud {
        name: "US Government",
        login_hosts: &["login.microsoftonline.us"],
        // L4 (GCC High) and L5 (DoD) sign in at the same host.
        graph_hosts: &["graph.microsoft.us", "dod-graph.microsoft.us"],
    },
    Cloud {
        name: "China (21Vianet)",
        login_hosts: &["login.chinacloudapi.cn", "login.partner.microsoftonline.cn"],
        graph_hosts: &["microsoftgraph.chinacloudapi.cn"],
    },
];

/// The two Entra URLs roster.yaml names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `login_url`: the token request, with the client secret.
    Login,
    /// `graph_url`: every Graph request, with an access token.
    Graph,
}

impl Endpoint {
    pub fn key(self) -> &'static str {
        match self {
            Endpoint::Login => "login_url",
            Endpoint::Graph => "graph_url",
        }
    }

    fn hosts(self, cloud: &Cloud) -> &'static [&'static str] {
        match self {
            Endpoint::Login => cloud.login_hosts,
            Endpoint::Graph => cloud.graph_hosts,
        }
    }

    /// Every accepted host of this endpoint, for a hint.
    pub fn known_hosts(self) -> String {
        CLOUDS
            .iter()
            .map(|c| format!("{}: {}", c.name, self.hosts(c).join(" or ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Whose host a URL is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Microsoft(&'static Cloud),
    /// 127.0.0.0/8, `::1` or `localhost`: the Graph emulator.
    Loopback,
}

impl Place {
    pub fn name(self) -> &'static str {
        match self {
            Place::Microsoft(c) => c.name,
            Place::Loopback => "loopback (emulator)",
        }
    }
}

/// Where `url` (already an http(s) base URL) sends what `endpoint` receives: a Microsoft
/// cloud, loopback, or an error naming the host.
pub fn place(endpoint: Endpoint, url: &str) -> Result<Place, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    if is_loopback(&parsed) {
        return Ok(Place::Loopback);
    }
    let host = parsed.host_str().unwrap_or_default();
    CLOUDS
        .iter()
        .find(|c| {
            endpoint
                .hosts(c)
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host))
        })
        .map(Place::Microsoft)
        .ok_or_else(|| match endpoint {
            Endpoint::Login => format!(
                "login_url `{url}` is not a Microsoft sign-in host: the client secret would be \
                 sent to `{host}`"
            ),
            Endpoint::Graph => format!(
                "graph_url `{url}` is not a Microsoft Graph host: access tokens would be sent \
                 to `{host}`"
            ),
        })
}

/// The sign-in and Graph URLs belong to one cloud (or are both loopback): a token bought in
/// one cloud is no use in another, and a Graph host of another cloud would receive it anyway.
pub fn same_cloud(login: Place, graph: Place) -> Result<(), String> {
    if login == graph {
        return Ok(());
    }
    Err(format!(
        "login_url is {} and graph_url is {}: the two must belong to the same cloud",
        describe(login),
        describe(graph)
    ))
}

fn describe(place: Place) -> String {
    match place {
        Place::Microsoft(c) => format!("in the {} cloud", c.name),
        Place::Loopback => "a loopback address (the emulator)".into(),
    }
}

/// What `graph_url` should be for a sign-in place, for a hint.
pub fn graph_hint(login: Place) -> String {
    match login {
        Place::Microsoft(c) => format!(
            "the {} cloud's Graph is {}: set graph_url to it",
            c.name,
            c.graph_hosts
                .iter()
                .map(|h| format!("https://{h}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        Place::Loopback => {
            "the Graph emulator serves both on loopback: give graph_url its address too".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_hosts_and_loopback_are_places_and_nothing_else_is() {
        let cloud = |e, u| place(e, u).map(Place::name);
        assert_eq!(
            cloud(Endpoint::Login, "https://login.microsoftonline.com"),
            Ok("global")
        );
        assert_eq!(
            cloud(Endpoint::Login, "https://LOGIN.microsoftonline.US/"),
            Ok("US Government")
        );
        assert_eq!(
            cloud(Endpoint::Graph, "https://dod-graph.microsoft.us"),
            Ok("US Government")
        );
        assert_eq!(
            cloud(Endpoint::Login, "https://login.partner.microsoftonline.cn"),
            Ok("China (21Vianet)")
        );
        assert_eq!(
            cloud(Endpoint::Graph, "https://microsoftgraph.chinacloudapi.cn"),
            Ok("China (21Vianet)")
        );
        assert_eq!(
            cloud(Endpoint::Graph, "http://127.0.0.1:4001/graph"),
            Ok("loopback (emulator)")
        );
        assert_eq!(
            cloud(Endpoint::Login, "http://[::1]:9/login"),
            Ok("loopback (emulator)")
        );
        for (endpoint, bad) in [
            (Endpoint::Login, "https://login.evil.example"),
            (
                Endpoint::Login,
                "https://login.microsoftonline.com.evil.example",
            ),
            (
                Endpoint::Login,
                "https://login.microsoftonline.com@evil.example",
            ),
            (Endpoint::Login, "https://evil.login.microsoftonline.com"),
            // A Graph host is not a sign-in host, and the other way round.
            (Endpoint::Login, "https://graph.microsoft.com"),
            (Endpoint::Graph, "https://login.microsoftonline.com"),
            (Endpoint::Graph, "https://graph.microsoft.de"),
        ] {
            assert!(place(endpoint, bad).is_err(), "{bad}");
        }
        let err = place(Endpoint::Login, "https://login.evil.example/x").unwrap_err();
        assert!(err.contains("`login.evil.example`"), "{err}");
    }

    #[test]
    fn the_two_urls_belong_to_one_cloud() {
        let p = |e, u| place(e, u).unwrap();
        let global = p(Endpoint::Login, "https://login.microsoftonline.com");
        let us = p(Endpoint::Login, "https://login.microsoftonline.us");
        let emulator = p(Endpoint::Login, "http://127.0.0.1:4001/login");
        assert!(same_cloud(global, p(Endpoint::Graph, "https://graph.microsoft.com")).is_ok());
        assert!(same_cloud(us, p(Endpoint::Graph, "https://graph.microsoft.us")).is_ok());
        assert!(same_cloud(us, p(Endpoint::Graph, "https://dod-graph.microsoft.us")).is_ok());
        assert!(same_cloud(emulator, p(Endpoint::Graph, "http://localhost:9/graph")).is_ok());
        let err = same_cloud(us, p(Endpoint::Graph, "https://graph.microsoft.com")).unwrap_err();
        assert!(
            err.contains("US Government") && err.contains("global"),
            "{err}"
        );
        assert!(same_cloud(emulator, p(Endpoint::Graph, "https://graph.microsoft.com")).is_err());
        assert!(same_cloud(global, p(Endpoint::Graph, "http://127.0.0.1:1/graph")).is_err());
    }
}
