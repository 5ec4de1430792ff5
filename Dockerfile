# A multi-stage image of the berth binary, its site embedded.
# Needs the base images below from a registry (Docker Hub or a mirror):
#   docker build -t berth .
#   docker run -p 8080:8080 -v berth-data:/var/lib/berth berth
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./dev.sh build

FROM debian:bookworm-slim
COPY --from=build /src/target/release/berth /usr/local/bin/berth
ENV BERTH_LISTEN=0.0.0.0:8080 \
    BERTH_DATA_DIR=/var/lib/berth
VOLUME /var/lib/berth
EXPOSE 8080
ENTRYPOINT ["berth"]
CMD ["serve"]
