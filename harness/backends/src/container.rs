//! A DynamoDB-compatible server in a container, through testcontainers, for machines with a Docker engine:
//! Amazon's DynamoDB Local at the pinned tag by default, or any image (`--image NAME:TAG`) that serves the
//! DynamoDB API on port 8000 of the container.

use std::path::PathBuf;
use std::time::Duration;

use aws_config::SdkConfig;
use std::collections::HashMap;

use testcontainers_modules::testcontainers::bollard::models::PortBinding;
use testcontainers_modules::testcontainers::core::IntoContainerPort;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::readiness::wait_for_list_tables;
use crate::sdk::{LOCAL_REGION, local_config, probe_client};
use crate::{
    Backend, BackendError, BackendKind, BackendOptions, Capabilities, measure_capabilities,
    versions,
};

/// The port the image serves the DynamoDB API on inside the container (DynamoDB Local's).
pub const CONTAINER_PORT: u16 = 8000;

/// Checks that a Docker engine answers `GET /_ping` (at `DOCKER_HOST`, else the usual sockets).
///
/// The docker CLI being installed says nothing: what matters is a daemon behind the socket. The error says
/// what was tried, so a skipped test or a CLI message can explain itself.
pub async fn docker_available() -> Result<(), BackendError> {
    let unavailable = |reason: String| BackendError::DockerUnavailable { reason };
    let answer = match std::env::var("DOCKER_HOST")
        .ok()
        .filter(|host| !host.is_empty())
    {
        Some(host) if host.starts_with("unix://") => {
            ping_unix(PathBuf::from(&host["unix://".len()..])).await
        }
        Some(host) if host.starts_with("tcp://") => ping_tcp(&host["tcp://".len()..]).await,
        Some(host) => {
            return Err(unavailable(format!(
                "DOCKER_HOST={host} is neither unix:// nor tcp://"
            )));
        }
        None => {
            let mut tried = Vec::new();
            for socket in default_sockets() {
                match ping_unix(socket.clone()).await {
                    Ok(()) => return Ok(()),
                    Err(reason) => tried.push(format!("{}: {reason}", socket.display())),
                }
            }
            Err(format!("DOCKER_HOST is not set; {}", tried.join("; ")))
        }
    };
    answer.map_err(unavailable)
}

fn default_sockets() -> Vec<PathBuf> {
    let mut sockets = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        sockets.push(PathBuf::from(runtime).join("docker.sock"));
    }
    if let Some(home) = dirs::home_dir() {
        sockets.push(home.join(".docker/run/docker.sock"));
    }
    sockets
}

async fn ping_unix(socket: PathBuf) -> Result<(), String> {
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .map_err(|err| err.to_string())?;
    ping(stream).await
}

async fn ping_tcp(address: &str) -> Result<(), String> {
    let stream = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(address),
    )
    .await
    .map_err(|_| format!("connecting to {address} timed out"))?
    .map_err(|err| format!("{address}: {err}"))?;
    ping(stream).await
}

async fn ping(
    mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
) -> Result<(), String> {
    let exchange = async {
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(3), exchange)
        .await
        .map_err(|_| "no answer to /_ping within 3 s".to_string())?
        .map_err(|err| err.to_string())?;
    let status_line = String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    if status_line.contains(" 200") {
        Ok(())
    } else {
        Err(format!("/_ping answered `{status_line}`"))
    }
}

/// The image name and tag a container backend runs: `--image`, else the pinned DynamoDB Local.
pub fn container_image(opts: &BackendOptions) -> Result<(String, String), BackendError> {
    match opts.image.as_deref().map(str::trim) {
        None | Some("") => Ok((
            versions::dynamodb_local_image().to_owned(),
            versions::dynamodb_local_tag().to_owned(),
        )),
        Some(image) => match image.rsplit_once(':') {
            Some((name, tag)) if !name.is_empty() && !tag.is_empty() && !tag.contains('/') => {
                Ok((name.to_owned(), tag.to_owned()))
            }
            _ => Err(BackendError::InvalidOptions(format!(
                "container image `{image}` must be NAME:TAG, e.g. {}:{}",
                versions::dynamodb_local_image(),
                versions::dynamodb_local_tag()
            ))),
        },
    }
}

pub(crate) async fn start(opts: &BackendOptions) -> Result<Box<dyn Backend>, BackendError> {
    let (image, tag) = container_image(opts)?;
    docker_available().await?;
    (opts.progress)(&format!(
        "starting {image}:{tag} with testcontainers (a local image of that name is used as it is; \
         otherwise it is pulled, which can take a minute)"
    ));
    // The port is published on loopback only; `None` lets Docker choose a free one.
    let host_port = opts.port.map(|port| port.to_string()).unwrap_or_default();
    let container = GenericImage::new(image.clone(), tag.clone())
        .with_exposed_port(CONTAINER_PORT.tcp())
        .with_host_config_modifier(move |host_config| {
            host_config.publish_all_ports = Some(false);
            host_config.port_bindings = Some(HashMap::from([(
                format!("{CONTAINER_PORT}/tcp"),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(host_port.clone()),
                }]),
            )]));
        })
        .start()
        .await
        .map_err(|err| BackendError::Container(format!("{image}:{tag}: {err}")))?;
    let port = container
        .get_host_port_ipv4(CONTAINER_PORT.tcp())
        .await
        .map_err(|err| BackendError::Container(err.to_string()))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = local_config(&endpoint);
    let probe = probe_client(&config);
    // The one wait condition that fits every image serving the DynamoDB API: a ListTables that answers.
    let within = Duration::from_secs(60);
    wait_for_list_tables(
        &probe,
        within,
        || Ok(()),
        |last_error| {
            BackendError::Container(format!(
                "{image}:{tag} at {endpoint} did not answer ListTables within {}s: {last_error}",
                within.as_secs()
            ))
        },
    )
    .await?;
    (opts.progress)(&format!("{image}:{tag} answered at {endpoint}"));
    let capabilities = measure_capabilities(&probe, false, None).await?;
    Ok(Box::new(ContainerBackend {
        endpoint,
        config,
        capabilities,
        container,
    }))
}

struct ContainerBackend {
    endpoint: String,
    config: SdkConfig,
    capabilities: Capabilities,
    /// Dropping it removes the container (testcontainers does that synchronously in its Drop).
    container: ContainerAsync<GenericImage>,
}

#[async_trait::async_trait]
impl Backend for ContainerBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Container
    }

    fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    fn region(&self) -> &str {
        LOCAL_REGION
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn sdk_config(&self) -> SdkConfig {
        self.config.clone()
    }

    async fn shutdown(self: Box<Self>) -> Result<(), BackendError> {
        self.container
            .rm()
            .await
            .map_err(|err| BackendError::Container(err.to_string()))
    }
}
