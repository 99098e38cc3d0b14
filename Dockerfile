# The cropmrv API image: the application only; the database is the compose `db` service.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gdal-bin && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -c constraints.txt .
ENV CROPMRV_HOME=/var/lib/cropmrv
EXPOSE 8000
CMD ["cropmrv", "serve", "--host", "0.0.0.0", "--port", "8000"]
