# meshgate on Debian 12: one node, data in the /data volume, port 8080.
#
#   docker build -t meshgate .
#   docker run -d --name meshgate -p 8080:8080 -v meshgate-data:/data meshgate
#   printf '%s\n' 'a-long-password' | docker exec -i meshgate meshgate user add alice --data /data
FROM debian:12

ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMESHGATE_WERROR=OFF \
    && cmake --build build -j"$(nproc)" --target meshgate \
    && install -m 0755 build/meshgate /usr/local/bin/meshgate \
    && mkdir -p /data

VOLUME ["/data"]
EXPOSE 8080
# no curl in the image: bash's /dev/tcp asks /healthz
HEALTHCHECK --interval=30s --timeout=5s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# the portal's static files are found relative to /src (web/)
WORKDIR /src
CMD ["meshgate", "serve", "--listen", "0.0.0.0:8080", "--data", "/data"]
