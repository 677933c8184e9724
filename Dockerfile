# orchestra serve: the LangGraph API server on Postgres. Run several behind a load balancer,
# all with the same DATABASE_URL (see README, "Serving the workflows").
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY . .
ENV NODE_ENV=production
EXPOSE 2024
# SIGTERM stops taking runs; runs in flight get --grace ms, then go back to the queue.
STOPSIGNAL SIGTERM
CMD ["node", "scripts/orchestra.js", "serve", "--host", "0.0.0.0", "--port", "2024"]
