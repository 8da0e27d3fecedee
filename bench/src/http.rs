//! A lean HTTP/1.1 keep-alive client: one connection, one request at a time, so that the load
//! generator spends its core on sending requests rather than on pooling.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode, client::conn::http1::SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One open connection.
pub struct HttpConn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl HttpConn {
    /// Opens a connection to `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            // The connection ends when the sender is dropped or the server closes it.
            let _ = connection.await;
        });
        Ok(HttpConn {
            sender,
            host: addr.to_string(),
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        let (status, _, body) = self.exchange(method, path, headers, body).await?;
        Ok((status, body))
    }

    /// Sends one request and reads the whole answer with its headers.
    pub async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes)> {
        self.sender.ready().await.context("connection closed")?;
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok((parts.status, parts.headers, body))
    }

    /// POSTs JSON and returns the parsed JSON answer; any status but 200 is an error.
    pub async fn post_json(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let (status, bytes) = self
            .request(
                Method::POST,
                path,
                &all,
                Bytes::from(serde_json::to_vec(body)?),
            )
            .await?;
        if status != StatusCode::OK {
            bail!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// GETs a path and returns the parsed JSON answer; any status but 200 is an error.
    pub async fn get_json(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<serde_json::Value> {
        let (status, bytes) = self
            .request(Method::GET, path, headers, Bytes::new())
            .await?;
        if status != StatusCode::OK {
            bail!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }
}
