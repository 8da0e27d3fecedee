//! The ceiling: what the same stack (tokio, axum, async-graphql) answers with no work behind
//! it, on the same pinning. A bare handler, and a GraphQL `{ __typename }`.

use std::net::SocketAddr;

use anyhow::{Result, bail};
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use async_graphql_axum::GraphQL;
use axum::{Router, routing::get};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::{http::HttpConn, load::Target, model::Query};

struct Root;

#[Object]
impl Root {
    /// Always true.
    async fn ok(&self) -> bool {
        true
    }
}

/// Serves `GET /plain` and `POST /graphql` on `addr` until killed.
pub async fn serve(addr: SocketAddr) -> Result<()> {
    let schema = Schema::new(Root, EmptyMutation, EmptySubscription);
    let app = Router::new()
        .route(
            "/plain",
            get(|| async { axum::Json(json!({ "ok": true })) }),
        )
        .route_service("/graphql", GraphQL::new(schema));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Which ceiling endpoint to measure.
#[derive(Clone, Copy, Debug)]
pub enum Ceiling {
    Plain,
    Typename,
}

/// A ceiling endpoint as a load target; every query is answered the same way.
pub struct CeilingTarget {
    pub addr: SocketAddr,
    pub kind: Ceiling,
}

#[async_trait::async_trait]
impl Target for CeilingTarget {
    type Conn = HttpConn;

    fn name(&self) -> &str {
        match self.kind {
            Ceiling::Plain => "axum handler",
            Ceiling::Typename => "async-graphql { __typename }",
        }
    }

    async fn connect(&self) -> Result<HttpConn> {
        HttpConn::connect(self.addr).await
    }

    async fn run(&self, conn: &mut HttpConn, _query: &Query) -> Result<Vec<String>> {
        match self.kind {
            Ceiling::Plain => {
                let (status, _) = conn
                    .request(Method::GET, "/plain", &[], Bytes::new())
                    .await?;
                if status != StatusCode::OK {
                    bail!("HTTP {status}");
                }
            }
            Ceiling::Typename => {
                let answer = conn
                    .post_json("/graphql", &[], &json!({ "query": "{ __typename }" }))
                    .await?;
                if answer["data"]["__typename"] != "Root" {
                    bail!("unexpected answer {answer}");
                }
            }
        }
        Ok(Vec::new())
    }
}
